"""Gift and product barcodes: EAN-13 and UPC-A, checked by their check digit.

The check digit catches most misreads and typos; the meaning of a GTIN (which gift, which
product) is the catalogue's business, not the scanner's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from drivers.verdict import MALFORMED, Refused

DIGITS = re.compile(r"[0-9]{12,13}")


@dataclass(frozen=True)
class ProductCode:
    gtin: str           # always 13 digits (a UPC-A gets a leading 0)
    symbology: str      # "EAN-13" | "UPC-A"


def check_digit(body: str) -> int:
    """GS1 check digit for the digits before it (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def looks_like_gtin(text: str) -> bool:
    return DIGITS.fullmatch(text) is not None


def parse_gtin(text: str) -> ProductCode | Refused:
    if not looks_like_gtin(text):
        return Refused(MALFORMED, "a product code is 12 (UPC-A) or 13 (EAN-13) digits")
    if check_digit(text[:-1]) != int(text[-1]):
        return Refused(MALFORMED, "product code check digit is wrong (misread?)")
    if len(text) == 12:
        return ProductCode(gtin="0" + text, symbology="UPC-A")
    return ProductCode(gtin=text, symbology="EAN-13")


def make_gtin(body: str) -> str:
    """Append the check digit to 11 (UPC-A) or 12 (EAN-13) digits."""
    if not re.fullmatch(r"[0-9]{11,12}", body):
        raise ValueError("expected 11 or 12 digits")
    return body + str(check_digit(body))
