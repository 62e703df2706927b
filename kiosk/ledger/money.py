"""Money in fen (1/100 yuan), parsed strictly from what people type.

No floats anywhere: "128.50" -> 12850. Thousands separators, exponents, more than two
decimals, signs and blanks are refused with a message that says what was wrong.
"""
from __future__ import annotations

import re

from .errors import InvalidInput

_AMOUNT = re.compile(r"([0-9]{1,9})(?:\.([0-9]{1,2}))?")
MAX_FEN = 10_000_000_00  # ten million yuan: larger is a typo, not a purchase


def parse_fen(text: str, *, allow_zero: bool = False, what: str = "amount") -> int:
    """Parse a yuan amount like ``"128.5"`` or ``"128.50"`` into fen."""
    if not isinstance(text, str):
        raise InvalidInput(f"{what} must be text like 128.50")
    match = _AMOUNT.fullmatch(text.strip())
    if not match:
        raise InvalidInput(f"{what} {text!r} is not an amount like 128.50 (digits, at most 2 decimals)")
    fen = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if fen == 0 and not allow_zero:
        raise InvalidInput(f"{what} must be more than 0")
    if fen > MAX_FEN:
        raise InvalidInput(f"{what} {text!r} is too large")
    return fen


def format_fen(fen: int) -> str:
    """12850 -> '128.50'; negative amounts keep their sign."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def parse_count(text: str | int, *, what: str, allow_zero: bool = False, maximum: int = 10_000_000) -> int:
    """A whole positive number of points, uses or items."""
    if isinstance(text, bool):
        raise InvalidInput(f"{what} must be a whole number")
    if isinstance(text, int):
        value = text
    elif isinstance(text, str) and re.fullmatch(r"[0-9]{1,9}", text.strip()):
        value = int(text.strip())
    else:
        raise InvalidInput(f"{what} {text!r} must be a whole number")
    if value == 0 and not allow_zero or value < 0 or value > maximum:
        raise InvalidInput(f"{what} {text!r} is out of range")
    return value
