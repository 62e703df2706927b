"""The member's dynamic QR code on their phone: ``KM1:<member id>:<time step>:<MAC>``.

A screenshot of the code is useless after a minute: the MAC covers a 30 s time step
(±1 step of clock skew is accepted) and each code is accepted once. The phone holds only its
member's key, derived from [codes] qr_secret, so one phone cannot make another member's codes.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

from drivers.verdict import BAD_SIGNATURE, BUSY, EXPIRED, MALFORMED, REPLAYED, Refused, hmac_sha256, mac_text, same

PREFIX = "KM1"
STEP_S = 30
PATTERN = re.compile(r"KM1:([0-9A-Z]{1,20}):([0-9]{1,10}):([A-Z2-7]{16})")


@dataclass(frozen=True)
class MemberQR:
    member_id: str
    step: int


def member_qr_key(secret: bytes, member_id: str) -> bytes:
    """The key the member's phone gets at login (and the kiosk re-derives)."""
    return hmac_sha256(secret, f"member-qr-key:{member_id}")


def make_member_qr(secret: bytes, member_id: str, now: float) -> str:
    step = int(now // STEP_S)
    message = f"{PREFIX}:{member_id}:{step}"
    return f"{message}:{mac_text(member_qr_key(secret, member_id), message)}"


class ReplayMemory:
    """Codes already used, kept only while they could still be valid, up to *capacity*."""

    def __init__(self, capacity: int = 10_000):
        self.capacity = capacity
        self._seen: OrderedDict[tuple[str, int], int] = OrderedDict()
        self._lock = threading.Lock()

    def use(self, member_id: str, step: int, oldest_valid: int) -> str | None:
        """Record a use; returns a refusal reason when the code was used before or memory is full."""
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < oldest_valid:
                self._seen.popitem(last=False)
            if (member_id, step) in self._seen:
                return REPLAYED
            if len(self._seen) >= self.capacity:
                return BUSY
            self._seen[(member_id, step)] = step
            return None

    def __len__(self) -> int:
        return len(self._seen)


def verify_member_qr(text: str, secret: bytes, now: float, replay: ReplayMemory) -> MemberQR | Refused:
    match = PATTERN.fullmatch(text)
    if match is None:
        return Refused(MALFORMED, "member QR code: expected KM1:<id>:<step>:<mac>")
    member_id, step, mac = match.group(1), int(match.group(2)), match.group(3)
    message = f"{PREFIX}:{member_id}:{step}"
    if not same(mac, mac_text(member_qr_key(secret, member_id), message)):
        return Refused(BAD_SIGNATURE, "member QR code: MAC does not verify")
    current = int(now // STEP_S)
    if abs(step - current) > 1:
        return Refused(EXPIRED, "member QR code is older than a minute (or the phone's clock is wrong)")
    problem = replay.use(member_id, step, current - 1)
    if problem is not None:
        return Refused(problem, "member QR code was already used" if problem == REPLAYED
                       else "too many QR codes in the last minute")
    return MemberQR(member_id=member_id, step=step)
