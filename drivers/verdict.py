"""What a tapped card or scanned code turned out to be, or why it was refused.

Verifiers return a `Refused` instead of raising: a kiosk must answer every tap and scan, and
the UI translates ``reason`` (a stable key) while ``detail`` (English) goes to the log.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

# Stable reason keys (the UI maps them to zh_CN / en messages).
UNKNOWN = "unknown-format"        # not a payload this kiosk knows
MALFORMED = "malformed"           # looks like one of ours, but a field is wrong
NOT_ACCEPTED = "not-accepted"     # a known kind that this kiosk's config does not accept
NO_KEY = "no-key"                 # accepted kind, but the key to check it is not configured
BAD_SIGNATURE = "bad-signature"   # forged or corrupted
EXPIRED = "expired"               # outside its validity window
REPLAYED = "replayed"             # this exact code or counter was already used
BUSY = "busy"                     # refused to stay safe under load (replay memory full)


@dataclass(frozen=True)
class MemberCard:
    """A tap that identifies a member card. ``secure`` is False for a bare UID (cloneable)."""
    card_id: str
    kind: str                     # "uid" | "token" | "sun"
    secure: bool
    issued_at: int | None = None  # token: when head office issued it (unix seconds)
    counter: int | None = None    # sun: the card's read counter for this tap
    member_id: str | None = None  # token version 2: the member head office issued the card to
    token: str | None = None      # token version 2: its payload (hex), the proof a deferred purchase journals

    @property
    def proof(self) -> tuple[str, str] | None:
        """(member id, token) of a version-2 token: what lets a kiosk that does not hold the member record a
        purchase head office credits; None for any other card."""
        return (self.member_id, self.token) if self.member_id else None


@dataclass(frozen=True)
class Refused:
    reason: str
    detail: str = ""


def hmac_sha256(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("ascii"), hashlib.sha256).digest()


def mac_text(key: bytes, message: str, length: int = 10) -> str:
    """A short MAC for printed codes: the first *length* bytes of HMAC-SHA256, base32, no padding."""
    return base64.b32encode(hmac_sha256(key, message)[:length]).decode("ascii").rstrip("=")


def same(a: str, b: str) -> bool:
    """Constant-time comparison, so timing does not reveal how much of a MAC was right."""
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))
