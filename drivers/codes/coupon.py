"""Printed coupon codes: ``KC1:<campaign>:<serial>:<MAC>``.

The MAC stops anyone from inventing serials; that each serial is used once is the ledger's
job (it keys on campaign + serial).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from drivers.verdict import BAD_SIGNATURE, MALFORMED, Refused, mac_text, same

PREFIX = "KC1"
PATTERN = re.compile(r"KC1:([0-9A-Z]{1,16}):([0-9]{1,12}):([A-Z2-7]{16})")


@dataclass(frozen=True)
class CouponCode:
    campaign: str
    serial: int


def make_coupon_code(secret: bytes, campaign: str, serial: int) -> str:
    message = f"{PREFIX}:{campaign}:{serial}"
    if PATTERN.fullmatch(f"{message}:{'A' * 16}") is None:
        raise ValueError("campaign must be 1-16 of A-Z 0-9 and serial 0 to 12 digits")
    return f"{message}:{mac_text(secret, message)}"


def verify_coupon_code(text: str, secret: bytes) -> CouponCode | Refused:
    match = PATTERN.fullmatch(text)
    if match is None:
        return Refused(MALFORMED, "coupon code: expected KC1:<campaign>:<serial>:<mac>")
    message, mac = text.rsplit(":", 1)
    if not same(mac, mac_text(secret, message)):
        return Refused(BAD_SIGNATURE, "coupon code: MAC does not verify")
    return CouponCode(campaign=match.group(1), serial=int(match.group(2)))
