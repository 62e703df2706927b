"""Head-office operations' own tables (alert holds, notifications, things done once, monitor state).

Created with the hub's tables by :class:`sync.hq.db.Db`; the journal index on ``at`` is what lets
a daily report read one day of a year-long journal without scanning it.
"""
from __future__ import annotations

import json

OPS_DDL = """
CREATE INDEX IF NOT EXISTS journal_at ON journal (at);
CREATE TABLE IF NOT EXISTS hq_holds (
    alert_id INTEGER PRIMARY KEY, member_id TEXT NOT NULL, cards TEXT NOT NULL, since TEXT NOT NULL,
    released_at TEXT, released_by TEXT);
CREATE TABLE IF NOT EXISTS hq_ops_state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hq_staff_disabled (
    staff_id TEXT PRIMARY KEY, at TEXT NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hq_once (
    kind TEXT NOT NULL, once_key TEXT NOT NULL, tx_id TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (kind, once_key));
CREATE TABLE IF NOT EXISTS hq_notifications (
    notification_id TEXT PRIMARY KEY, kind TEXT NOT NULL, member_id TEXT NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL, sent_at TEXT, delivered_at TEXT, last_error TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS hq_notifications_due ON hq_notifications (state, next_attempt_at);
"""
# Each attempt to send a notification, claimed (and committed) before it is published: the key
# (notification_id, attempt) is unique, so no two operations processes publish the same attempt.
NOTIFY_CLAIMS_DDL = """
CREATE TABLE IF NOT EXISTS hq_notify_claims (
    notification_id TEXT NOT NULL, attempt INTEGER NOT NULL, claimed_by TEXT NOT NULL, claimed_at TEXT NOT NULL,
    PRIMARY KEY (notification_id, attempt));
"""


def state_get(conn, name: str, default: str | None = None) -> str | None:
    row = conn.execute("SELECT value FROM hq_ops_state WHERE name = ?", (name,)).fetchone()
    return row[0] if row else default


def state_set(conn, name: str, value: str) -> None:
    conn.execute("INSERT INTO hq_ops_state (name, value) VALUES (?, ?)"
                 " ON CONFLICT (name) DO UPDATE SET value = excluded.value", (name, value))


def done_before(conn, kind: str, key: str) -> str | None:
    """The transaction that already did (kind, key) -- an imported row, a win-back coupon -- or None."""
    row = conn.execute("SELECT tx_id FROM hq_once WHERE kind = ? AND once_key = ?", (kind, key)).fetchone()
    return row[0] if row else None


def mark_done(conn, kind: str, key: str, tx_id: str, at: str) -> None:
    conn.execute("INSERT INTO hq_once (kind, once_key, tx_id, at) VALUES (?, ?, ?, ?)", (kind, key, tx_id, at))


HOME_KINDS = "('register', 'import_member')"      # the records that make a store a member's home


def home_store(conn, member_id: str) -> str:
    """The store a member registered at (or was imported into); "hq" when the journal has no such record."""
    row = conn.execute(f"SELECT record FROM journal WHERE member_id = ? AND kind IN {HOME_KINDS}"
                       " ORDER BY at LIMIT 1", (member_id,)).fetchone()
    return json.loads(row[0])["store_id"] if row else "hq"
