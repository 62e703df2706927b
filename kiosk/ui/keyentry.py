"""What a key on the on-screen keypad does to the text being typed (amounts, points, PINs)."""
from __future__ import annotations

DELETE = "del"
CLEAR = "clear"


def type_key(text: str, key: str, *, decimals: bool = True, max_len: int = 9) -> str:
    """The text after pressing ``key``; keys that would make it malformed are ignored.

    Amounts take at most two decimals and one point; the ledger parses the result strictly.
    """
    if key == DELETE:
        return text[:-1]
    if key == CLEAR:
        return ""
    if key == ".":
        return text + ("0." if not text else ".") if decimals and "." not in text else text
    if not key.isdigit() or len(text) >= max_len:
        return text
    if "." in text and len(text.split(".")[1]) >= 2:
        return text
    if text == "0" and decimals:        # amounts: "05" reads as 5; PINs keep their zeros
        return key
    return text + key
