"""What a scanned code means: member QR, POS receipt, coupon, or product/gift barcode.

`CodeVerifier.check` takes whatever a scanner produced (text or raw bytes) and returns a typed
result or a `Refused` with a reason; it never raises on any input (the tests fuzz it).
"""
from __future__ import annotations

import logging
import time
from typing import Callable, Union

from drivers.codes.coupon import CouponCode, make_coupon_code, verify_coupon_code
from drivers.codes.gtin import ProductCode, looks_like_gtin, make_gtin, parse_gtin
from drivers.codes.qr import MemberQR, ReplayMemory, make_member_qr, member_qr_key, verify_member_qr
from drivers.codes.receipt import MAX_AGE_S, ReceiptCode, make_receipt_code, verify_receipt_code
from drivers.verdict import MALFORMED, NO_KEY, UNKNOWN, Refused

log = logging.getLogger(__name__)

MAX_LENGTH = 512
Result = Union[MemberQR, ReceiptCode, CouponCode, ProductCode, Refused]

__all__ = ["CodeVerifier", "MemberQR", "ReceiptCode", "CouponCode", "ProductCode", "Refused",
           "make_member_qr", "member_qr_key", "make_receipt_code", "make_coupon_code", "make_gtin"]


class CodeVerifier:
    """Holds the [codes] secrets and the QR replay memory; one per kiosk process."""

    def __init__(self, qr_secret: bytes = b"", receipt_secret: bytes = b"", coupon_secret: bytes = b"",
                 clock: Callable[[], float] = time.time, replay_capacity: int = 10_000,
                 receipt_max_age_s: int = MAX_AGE_S, replay: ReplayMemory | None = None):
        """``replay``: where used phone codes are remembered (the kiosk passes one kept in its ledger
        file, so a restart forgets nothing); by default in this process's memory."""
        self.qr_secret, self.receipt_secret, self.coupon_secret = qr_secret, receipt_secret, coupon_secret
        self.clock = clock
        self.replay = replay if replay is not None else ReplayMemory(replay_capacity)
        self.receipt_max_age_s = receipt_max_age_s

    @classmethod
    def from_config(cls, codes: dict, clock: Callable[[], float] = time.time,
                    replay: ReplayMemory | None = None) -> "CodeVerifier":
        """From the [codes] config section (secrets are used as UTF-8 bytes)."""
        return cls(*(codes.get(k, "").encode("utf-8") for k in ("qr_secret", "receipt_secret", "coupon_secret")),
                   clock=clock, replay=replay)

    def check(self, payload: str | bytes) -> Result:
        result = self._check(payload)
        if isinstance(result, Refused):
            log.info("code refused (%s): %s", result.reason, result.detail)
        return result

    def _check(self, payload: str | bytes) -> Result:
        if isinstance(payload, (bytes, bytearray)):
            try:
                payload = bytes(payload).decode("ascii")
            except UnicodeDecodeError:
                return Refused(UNKNOWN, "not a code this kiosk knows (non-ASCII bytes)")
        if not isinstance(payload, str):
            return Refused(MALFORMED, "a code must be text")
        text = payload.strip()
        if not text or len(text) > MAX_LENGTH:
            return Refused(UNKNOWN, "empty or overlong code")
        if looks_like_gtin(text):
            return parse_gtin(text)
        kind = text[:4]
        if kind == "KM1:":
            return self._keyed(self.qr_secret, "qr_secret") or verify_member_qr(
                text, self.qr_secret, self.clock(), self.replay)
        if kind == "KR1:":
            return self._keyed(self.receipt_secret, "receipt_secret") or verify_receipt_code(
                text, self.receipt_secret, self.clock(), self.receipt_max_age_s)
        if kind == "KC1:":
            return self._keyed(self.coupon_secret, "coupon_secret") or verify_coupon_code(text, self.coupon_secret)
        return Refused(UNKNOWN, "not a code this kiosk knows")

    @staticmethod
    def _keyed(secret: bytes, name: str) -> Refused | None:
        return None if secret else Refused(NO_KEY, f"no [codes] {name} configured")
