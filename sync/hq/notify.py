"""The notification outbox: reminders, greetings and offers for an SMS / app-push gateway.

A notification is queued once under a stable id (``expiry:<member>:<lot>:<horizon>``,
``birthday:<member>:<year>``, ``winback:<campaign>:<member>``), so queuing it again changes
nothing. The operations loop publishes what is due on ``kiosk/v1/ops/notify`` (signed by head
office); the gateway answers on ``kiosk/v1/ops/notify/ack`` with ``delivered``, ``failed``
(permanent) or ``retry``. Without an answer a notification is sent again after 1, 5, 30 and 120
minutes, then given up as ``failed``.

Personal data: the payload names the member by id; the phone number and name the gateway needs
travel only sealed (AES-256-GCM) with a key head office shares with the gateway alone, bound to
the notification id, so the broker and anyone subscribed see no contact in clear.
"""
from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.ledger import pii
from kiosk.ledger.dates import to_utc_text

RETRY_AFTER = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(minutes=120))
KINDS = ("expiry", "birthday", "winback")
STATES = ("pending", "sent", "delivered", "failed")


def queue(conn, notification_id: str, kind: str, member_id: str, params: dict, now: datetime) -> bool:
    """Queue a notification once (call inside a transaction); False when it was queued before."""
    if kind not in KINDS:
        raise ValueError(f"notification kind {kind!r} is not one of {', '.join(KINDS)}")
    cursor = conn.execute(
        "INSERT INTO hq_notifications (notification_id, kind, member_id, body, created_at, next_attempt_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (notification_id) DO NOTHING",
        (notification_id, kind, member_id, json.dumps(params, ensure_ascii=False, sort_keys=True), to_utc_text(now),
         to_utc_text(now)))
    return cursor.rowcount == 1


def due(conn, now: datetime, limit: int = 500) -> list[dict]:
    rows = conn.execute(
        "SELECT notification_id, kind, member_id, body, attempts FROM hq_notifications"
        " WHERE state IN ('pending', 'sent') AND next_attempt_at <= ? ORDER BY next_attempt_at, notification_id"
        " LIMIT ?", (to_utc_text(now), limit)).fetchall()
    return [{"notification_id": n, "kind": k, "member_id": m, "params": json.loads(b), "attempts": a}
            for n, k, m, b, a in rows]


def claim(conn, now: datetime, claimed_by: str, limit: int = 500) -> list[dict]:
    """Claim the due notifications for their next attempt, or give up those out of attempts.

    Call inside a write transaction and COMMIT BEFORE PUBLISHING (the outbox pattern): each attempt
    is a row keyed ``(notification_id, attempt)``, so two operations processes never publish the
    same attempt, and a process killed after publishing never publishes it again -- the next attempt
    waits for the retry schedule, and the gateway sends each ``notification_id`` once.
    """
    claimed = []
    for item in due(conn, now, limit):
        notification_id, attempt = item["notification_id"], item["attempts"] + 1
        if attempt > len(RETRY_AFTER) + 1:
            conn.execute("UPDATE hq_notifications SET state = 'failed', last_error = 'no delivery confirmation'"
                         " WHERE notification_id = ?", (notification_id,))
            continue
        cursor = conn.execute("INSERT INTO hq_notify_claims (notification_id, attempt, claimed_by, claimed_at)"
                              " VALUES (?, ?, ?, ?) ON CONFLICT (notification_id, attempt) DO NOTHING",
                              (notification_id, attempt, claimed_by, to_utc_text(now)))
        if cursor.rowcount != 1:             # another process has this attempt
            continue
        conn.execute("UPDATE hq_notifications SET state = 'sent', attempts = ?, sent_at = ?, next_attempt_at = ?"
                     " WHERE notification_id = ?",
                     (attempt, to_utc_text(now), to_utc_text(now + RETRY_AFTER[min(attempt, len(RETRY_AFTER)) - 1]),
                      notification_id))
        claimed.append({**item, "attempts": attempt})
    return claimed


def confirm(conn, notification_id: str, status: str, now: datetime, error: str = "") -> bool:
    """The gateway's answer. ``retry`` keeps the schedule; False for an unknown or finished notification."""
    row = conn.execute("SELECT state FROM hq_notifications WHERE notification_id = ?", (notification_id,)).fetchone()
    if row is None or row[0] in ("delivered", "failed"):
        return False
    if status == "delivered":
        conn.execute("UPDATE hq_notifications SET state = 'delivered', delivered_at = ?, last_error = ''"
                     " WHERE notification_id = ?", (to_utc_text(now), notification_id))
    elif status == "failed":
        conn.execute("UPDATE hq_notifications SET state = 'failed', last_error = ? WHERE notification_id = ?",
                     (error[:300], notification_id))
    else:
        conn.execute("UPDATE hq_notifications SET last_error = ? WHERE notification_id = ?",
                     (error[:300], notification_id))
    return True


def outbox(conn, *, state: str | None = None, limit: int = 1000) -> list[dict]:
    only_state = " WHERE state = ?" if state else ""  # no "? IS NULL": PostgreSQL cannot type that parameter
    rows = conn.execute(
        "SELECT notification_id, kind, member_id, state, attempts, created_at, sent_at, delivered_at, last_error"
        f" FROM hq_notifications{only_state} ORDER BY created_at, notification_id LIMIT ?",
        (*([state] if state else []), limit)).fetchall()
    keys = ("notification_id", "kind", "member_id", "state", "attempts", "created_at", "sent_at", "delivered_at",
            "last_error")
    return [dict(zip(keys, r)) for r in rows]


class Sealer:
    """AES-256-GCM with the key shared with the gateway (32 random bytes, hex, in a file)."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ValueError("the gateway key must be 32 bytes (64 hex digits)")
        self.aead = AESGCM(key)

    @classmethod
    def load(cls, path: str | Path) -> "Sealer":
        try:
            return cls(bytes.fromhex(Path(path).read_text().strip()))
        except ValueError:
            raise ValueError(f"{path}: the gateway key must be 64 hex digits") from None

    @staticmethod
    def generate(path: str | Path) -> None:
        Path(path).write_text(os.urandom(32).hex() + "\n")
        os.chmod(path, 0o600)

    def seal(self, contact: dict, notification_id: str) -> str:
        nonce = os.urandom(12)
        sealed = self.aead.encrypt(nonce, json.dumps(contact, ensure_ascii=False).encode(), notification_id.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, sealed: str, notification_id: str) -> dict:
        raw = base64.b64decode(sealed)
        return json.loads(self.aead.decrypt(raw[:12], raw[12:], notification_id.encode()))


def message(db, item: dict, sealer: Sealer) -> dict:
    """The ``notify`` body for one claimed attempt (contact decrypted, then sealed for the gateway;
    an erased member has no contact left)."""
    row = db.conn.execute("SELECT name, phone FROM members WHERE member_id = ?", (item["member_id"],)).fetchone()
    contact = pii.reveal_row(db.conn, db.keyring, item["member_id"], {"name": row[0], "phone": row[1]}) if row else {}
    contact = {k: v for k, v in contact.items() if v}
    return {"notification_id": item["notification_id"], "kind": item["kind"], "member_id": item["member_id"],
            "attempt": item["attempts"], "params": item["params"],
            "contact": sealer.seal(contact, item["notification_id"])}

