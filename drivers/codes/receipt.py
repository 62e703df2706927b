"""Receipt codes the POS prints for claiming points: store, POS transaction, amount, time, MAC.

``KR1:<store>:<pos txn>:<amount fen>:<unix time>:<MAC>`` (docs/codes.md). The MAC proves the
POS made it; claiming each receipt once chain-wide is the ledger's job (it keys on store + txn).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from drivers.verdict import BAD_SIGNATURE, EXPIRED, MALFORMED, Refused, mac_text, same

PREFIX = "KR1"
PATTERN = re.compile(r"KR1:([A-Za-z0-9][A-Za-z0-9_.-]{0,63}):([A-Za-z0-9_.-]{1,40}):([1-9][0-9]{0,10}):"
                     r"([0-9]{1,10}):([A-Z2-7]{16})")
MAX_AGE_S = 30 * 86400     # receipts older than this cannot be claimed
CLOCK_SKEW_S = 300          # a POS clock may run this far ahead of the kiosk's


@dataclass(frozen=True)
class ReceiptCode:
    store_id: str
    pos_txn: str
    amount_fen: int
    issued_at: int


def make_receipt_code(secret: bytes, store_id: str, pos_txn: str, amount_fen: int, issued_at: int) -> str:
    message = f"{PREFIX}:{store_id}:{pos_txn}:{amount_fen}:{issued_at}"
    if PATTERN.fullmatch(f"{message}:{'A' * 16}") is None:
        raise ValueError("store id, transaction id, amount (fen, > 0) or time out of range")
    return f"{message}:{mac_text(secret, message)}"


def verify_receipt_code(text: str, secret: bytes, now: float, max_age_s: int = MAX_AGE_S) -> ReceiptCode | Refused:
    match = PATTERN.fullmatch(text)
    if match is None:
        return Refused(MALFORMED, "receipt code: expected KR1:<store>:<txn>:<fen>:<time>:<mac>")
    message, mac = text.rsplit(":", 1)
    if not same(mac, mac_text(secret, message)):
        return Refused(BAD_SIGNATURE, "receipt code: MAC does not verify")
    issued_at = int(match.group(4))
    if issued_at > now + CLOCK_SKEW_S:
        return Refused(EXPIRED, "receipt code is dated in the future (check the POS clock)")
    if now - issued_at > max_age_s:
        return Refused(EXPIRED, f"receipt is older than {max_age_s // 86400} days")
    return ReceiptCode(store_id=match.group(1), pos_txn=match.group(2), amount_fen=int(match.group(3)),
                       issued_at=issued_at)
