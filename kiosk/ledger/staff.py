"""Staff credentials: slow PIN hashes, lockout after repeated wrong PINs."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timedelta

from .dates import from_utc_text, to_utc_text
from .errors import InvalidInput, NotFound, Refused
from .permissions import STAFF_ROLES
from .service import Service

log = logging.getLogger("kiosk.ledger.staff")

# The staff actions `kioskctl audit` lists (journal kinds; a staff record's data names the staff member).
AUDITED = ("staff_sign_in", "staff_sign_in_failed", "staff_lockout", "staff_add", "staff_pin_reset",
           "staff_unlock", "rules_replaced", "erase")
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
    """Add or change a staff member (head office's staff list; a kiosk uses :class:`StaffOps`)."""
    if role not in STAFF_ROLES:
        raise InvalidInput(f"role {role!r} is not cashier, manager or technician")
    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,32}", staff_id) or staff_id in ("admin", "self"):
        raise InvalidInput(f"staff id {staff_id!r} must be 1-32 letters or digits (not admin/self)")
    conn.execute("INSERT INTO staff (staff_id, name, role, card_id, pin_hash) VALUES (?, ?, ?, ?, ?)"
                 " ON CONFLICT (staff_id) DO UPDATE SET name = excluded.name, role = excluded.role,"
                 " card_id = excluded.card_id, pin_hash = excluded.pin_hash, failed = 0, locked_until = NULL",
                 (staff_id, name, role, card_id, hash_pin(pin)))


def _locked_until(row_locked_until: str | None, now: datetime) -> str | None:
    return row_locked_until if row_locked_until and from_utc_text(row_locked_until) > now else None


class StaffService(Service):
    """A kiosk's staff: sign-in and staff changes, each a journal record (no PIN or hash in it)."""

    def staff_for_card(self, card_id: str) -> dict | None:
        """The staff member a card belongs to, or None (so a tap can tell staff from members)."""
        row = self.conn.execute("SELECT staff_id, name, role FROM staff WHERE card_id = ?", (card_id,)).fetchone()
        return dict(zip(("staff_id", "name", "role"), row)) if row else None

    def sign_in(self, card_or_id: str, pin: str) -> dict:
        """A staff member's card (or id) and PIN, at the ledger's clock (the touchscreen and kioskctl).

        Five wrong PINs lock the staff member for 15 minutes. Each attempt on a known, unlocked staff
        member is journaled (``staff_sign_in`` / ``staff_sign_in_failed``, then ``staff_lockout``);
        a refused attempt commits its count and its record before the refusal is raised. Attempts on
        an unknown id or while locked write nothing (there is no PIN to guess then) and are logged.
        """
        now = self.clock.now()
        row = self.conn.execute("SELECT staff_id, pin_hash, locked_until FROM staff WHERE card_id = ? OR staff_id = ?",
                                (card_or_id, card_or_id)).fetchone()
        if row is None:
            log.info("sign-in refused: not a staff card or id")
            raise NotFound("not a staff card", "unknown_staff")
        staff_id, pin_hash, locked_until = row
        if _locked_until(locked_until, now):
            log.info("sign-in refused: staff %s is locked until %s", staff_id, locked_until)
            raise Refused(f"locked after {MAX_FAILURES} wrong PINs until {locked_until[11:16]} UTC", "staff_locked")
        matches = _pin_matches(pin, pin_hash)        # slow: before taking the write lock
        data = {"staff_id": staff_id}
        with self.transaction("staff_sign_in" if matches else "staff_sign_in_failed", operator=staff_id,
                              record_only=True, data=data):
            row = self.conn.execute("SELECT name, role, failed, locked_until, pin_hash FROM staff WHERE staff_id = ?",
                                    (staff_id,)).fetchone()
            if row is None or row[4] != pin_hash:     # removed, or a new PIN, meanwhile: nothing written
                raise Refused("the staff list changed during sign-in: try again", "wrong_pin")
            name, role, failed, locked_until, _ = row
            if _locked_until(locked_until, now):     # locked by another attempt meanwhile: nothing written
                raise Refused(f"locked after {MAX_FAILURES} wrong PINs", "staff_locked")
            failed = 0 if matches else failed + 1
            locked = to_utc_text(now + LOCKOUT) if failed >= MAX_FAILURES else None
            if not matches:
                data["failures"] = failed
            self.conn.execute("UPDATE staff SET failed = ?, locked_until = ? WHERE staff_id = ?",
                              (0 if locked else failed, locked, staff_id))
        if matches:
            return {"staff_id": staff_id, "name": name, "role": role}
        if locked:
            with self.transaction("staff_lockout", operator=staff_id, record_only=True,
                                  data={"staff_id": staff_id, "until": locked}):
                pass
            log.info("staff %s locked until %s after %d wrong PINs", staff_id, locked, MAX_FAILURES)
            raise Refused(f"wrong PIN {MAX_FAILURES} times: locked for 15 minutes", "staff_locked")
        log.info("wrong PIN for staff %s (%d of %d)", staff_id, failed, MAX_FAILURES)
        raise Refused(f"wrong PIN ({MAX_FAILURES - failed} tries left)", "wrong_pin")

    def audit(self, *, since: str | None = None, staff_id: str | None = None, limit: int = 1000) -> list[dict]:
        """This kiosk's staff-action records from ``since`` (a moment, store-local without an offset),
        oldest first; with ``staff_id``, those about or by that staff member."""
        start = to_utc_text(self.moment(since)) if since else ""
        marks = ", ".join("?" * len(AUDITED))
        rows = self.conn.execute(
            f"SELECT record FROM journal WHERE kiosk_id = ? AND kind IN ({marks}) AND at >= ? ORDER BY seq",
            (self.kiosk_id, *AUDITED, start))
        out = []
        for (text,) in rows:
            record = json.loads(text)
            data = record["data"]
            if staff_id in (None, data.get("staff_id"), record["operator"]):
                out.append({"seq": record["seq"], "at": record["at"], "kind": record["kind"],
                            "staff_id": data.get("staff_id"), "operator": record["operator"],
                            "detail": {k: v for k, v in data.items() if k != "staff_id"}, "tx_id": record["tx_id"]})
                if len(out) == limit:
                    break
        return out

    def add_staff(self, staff_id: str, name: str, role: str, pin: str, card_id: str | None = None, *,
                  operator: str = "admin", at: str | None = None) -> dict:
        """A new staff member; an existing id is refused (reset the PIN or unlock instead)."""
        with self._staff_change("staff_add", staff_id, operator, at, exists=False) as t:
            add_staff(self.conn, staff_id, name, role, pin, card_id)
            t.record["data"].update(name=name, role=role, card_id=card_id)
        return {"tx_id": t.tx_id, "staff_id": staff_id, "role": role}

    def reset_pin(self, staff_id: str, pin: str, *, operator: str, at: str | None = None) -> dict:
        """A new PIN; clears the failed attempts and any lockout."""
        pin_hash = hash_pin(pin)
        with self._staff_change("staff_pin_reset", staff_id, operator, at) as t:
            self.conn.execute("UPDATE staff SET pin_hash = ?, failed = 0, locked_until = NULL WHERE staff_id = ?",
                              (pin_hash, staff_id))
        return {"tx_id": t.tx_id, "staff_id": staff_id}

    def unlock_staff(self, staff_id: str, *, operator: str, at: str | None = None) -> dict:
        """Lift a lockout after wrong PINs (the PIN stays)."""
        with self._staff_change("staff_unlock", staff_id, operator, at) as t:
            self.conn.execute("UPDATE staff SET failed = 0, locked_until = NULL WHERE staff_id = ?", (staff_id,))
        return {"tx_id": t.tx_id, "staff_id": staff_id}

    @contextmanager
    def _staff_change(self, kind: str, staff_id: str, operator: str, at: str | None, *, exists: bool = True):
        with self.transaction(kind, operator=operator, at=at, record_only=True,
                              data={"staff_id": staff_id}) as t:
            known = self.conn.execute("SELECT 1 FROM staff WHERE staff_id = ?", (staff_id,)).fetchone() is not None
            if known and not exists:
                raise Refused(f"staff {staff_id} already exists: use `kioskctl staff reset-pin` or `staff unlock`",
                              "staff_exists")
            if exists and not known:
                raise NotFound(f"staff {staff_id} is not known", "unknown_staff")
            yield t
