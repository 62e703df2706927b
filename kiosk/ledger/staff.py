"""Staff credentials: slow PIN hashes, lockout after repeated wrong PINs."""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import sqlite3
from datetime import datetime, timedelta

from .core import ROLES
from .dates import from_utc_text, to_utc_text
from .errors import InvalidInput, NotFound, Refused

MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
_SCRYPT = dict(n=2**14, r=8, p=1)


def hash_pin(pin: str) -> str:
    if not re.fullmatch(r"[0-9]{4,8}", pin or ""):
        raise InvalidInput("a PIN is 4 to 8 digits")
    salt = os.urandom(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _pin_matches(pin: str, stored: str) -> bool:
    _, salt, digest = stored.split("$")
    return hmac.compare_digest(hashlib.scrypt(pin.encode(), salt=bytes.fromhex(salt), **_SCRYPT).hex(), digest)


def add_staff(conn: sqlite3.Connection, staff_id: str, name: str, role: str, pin: str,
              card_id: str | None = None) -> None:
    if role not in ROLES or role == "admin":
        raise InvalidInput(f"role {role!r} is not cashier, manager or technician")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", staff_id) or staff_id in ("admin", "self"):
        raise InvalidInput(f"staff id {staff_id!r} must be 1-32 letters or digits (not admin/self)")
    conn.execute("INSERT INTO staff (staff_id, name, role, card_id, pin_hash) VALUES (?, ?, ?, ?, ?)"
                 " ON CONFLICT (staff_id) DO UPDATE SET name = excluded.name, role = excluded.role,"
                 " card_id = excluded.card_id, pin_hash = excluded.pin_hash, failed = 0, locked_until = NULL",
                 (staff_id, name, role, card_id, hash_pin(pin)))


def sign_in(conn: sqlite3.Connection, card_or_id: str, pin: str, now: datetime) -> dict:
    """Check a staff card (or id) and PIN; five wrong PINs lock the card for 15 minutes."""
    row = conn.execute("SELECT staff_id, name, role, pin_hash, failed, locked_until FROM staff"
                       " WHERE card_id = ? OR staff_id = ?", (card_or_id, card_or_id)).fetchone()
    if row is None:
        raise NotFound("not a staff card", "unknown_staff")
    staff_id, name, role, pin_hash, failed, locked_until = row
    if locked_until and from_utc_text(locked_until) > now:
        raise Refused(f"locked after {MAX_FAILURES} wrong PINs until {locked_until[11:16]} UTC", "staff_locked")
    if _pin_matches(pin, pin_hash):
        conn.execute("UPDATE staff SET failed = 0, locked_until = NULL WHERE staff_id = ?", (staff_id,))
        return {"staff_id": staff_id, "name": name, "role": role}
    failed += 1
    locked = to_utc_text(now + LOCKOUT) if failed >= MAX_FAILURES else None
    conn.execute("UPDATE staff SET failed = ?, locked_until = ? WHERE staff_id = ?",
                 (0 if locked else failed, locked, staff_id))
    if locked:
        raise Refused(f"wrong PIN {MAX_FAILURES} times: locked for 15 minutes", "staff_locked")
    raise Refused(f"wrong PIN ({MAX_FAILURES - failed} tries left)", "wrong_pin")
