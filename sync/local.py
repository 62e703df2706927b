"""The sync layer's own tables in the kiosk's SQLite file, and what the UI reads from them.

Confirmations mark outbox rows; corrections and head-office balances are kept for the screens
(a correction is never dropped: it stays until staff acknowledge it). These tables are not ledger
projections: the journal does not produce them, so ``kiosk.ledger.verify`` leaves them alone. The
offline limits, the last contact with head office and the offline allowances belong to the ledger's
spend guard (:mod:`kiosk.ledger.guard`); this module tells it when head office was heard from.
"""
from __future__ import annotations

import json
import sqlite3

from kiosk.ledger import guard
from kiosk.ledger.clock import Clock, from_env
from kiosk.ledger.core import write_transaction
from kiosk.ledger.dates import to_utc_text
from kiosk.ledger.views import summarise


DDL = """
CREATE TABLE IF NOT EXISTS sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sync_corrections (
    tx_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL,
    received_at TEXT NOT NULL, acknowledged_at TEXT);
CREATE TABLE IF NOT EXISTS sync_balances (
    member_id TEXT PRIMARY KEY, as_of INTEGER NOT NULL, points INTEGER NOT NULL, points_debt INTEGER NOT NULL,
    principal_fen INTEGER NOT NULL, bonus_fen INTEGER NOT NULL, tier TEXT NOT NULL, status TEXT NOT NULL,
    received_at TEXT NOT NULL);
"""
BALANCE_FIELDS = ("member_id", "as_of", "points", "points_debt", "principal_fen", "bonus_fen", "tier", "status")


class SyncState:
    def __init__(self, conn: sqlite3.Connection, clock: Clock | None = None):
        self.conn, self.clock = conn, clock or from_env()
        conn.executescript("BEGIN IMMEDIATE;" + DDL + "COMMIT;")

    def now(self) -> str:
        return to_utc_text(self.clock.now())

    def write(self):
        return write_transaction(self.conn)

    def get(self, key: str, default=None):
        row = self.conn.execute("SELECT value FROM sync_state WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def put(self, key: str, value) -> None:
        self.conn.execute("INSERT INTO sync_state (key, value) VALUES (?, ?)"
                          " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, json.dumps(value)))

    # -- confirmations -------------------------------------------------------------------------
    def confirmed(self) -> int:
        return self.get("confirmed", 0)

    def apply_ack(self, body: dict) -> int:
        """Mark outbox rows up to head office's mark; keep its corrections and balances. Returns the mark."""
        with self.write() as conn:
            (top,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()
            hwm = min(body["hwm"], top)
            now = self.now()
            if hwm > self.confirmed():
                conn.execute("UPDATE outbox SET confirmed_at = ? WHERE seq <= ? AND confirmed_at IS NULL", (now, hwm))
                self.put("confirmed", hwm)
            for c in body["corrections"]:
                conn.execute("INSERT INTO sync_corrections (tx_id, seq, kind, detail, received_at)"
                             " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tx_id) DO NOTHING",
                             (c["tx_id"], c["seq"], c["kind"], json.dumps(c["detail"], ensure_ascii=False), now))
            for b in body["balances"]:
                conn.execute(
                    f"INSERT INTO sync_balances ({', '.join(BALANCE_FIELDS)}, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (member_id) DO UPDATE SET as_of = excluded.as_of, points = excluded.points,"
                    " points_debt = excluded.points_debt, principal_fen = excluded.principal_fen,"
                    " bonus_fen = excluded.bonus_fen, tier = excluded.tier, status = excluded.status,"
                    " received_at = excluded.received_at WHERE excluded.as_of >= sync_balances.as_of",
                    (*(b[f] for f in BALANCE_FIELDS), now))
            guard.record_contact(conn, self.clock.now())
        return max(hwm, self.confirmed())

    def touch(self) -> None:
        """Head office answered just now (the offline window counts from here)."""
        with self.write() as conn:
            guard.record_contact(conn, self.clock.now())

    # -- for the screens -----------------------------------------------------------------------
    def corrections(self, *, unacknowledged: bool = True) -> list[dict]:
        rows = self.conn.execute("SELECT tx_id, seq, kind, detail, received_at FROM sync_corrections"
                                 " WHERE (? = 0 OR acknowledged_at IS NULL) ORDER BY seq", (int(unacknowledged),))
        return [{"tx_id": t, "seq": s, "kind": k, "detail": json.loads(d), "received_at": r} for t, s, k, d, r in rows]

    def acknowledge(self, tx_id: str) -> None:
        with self.write() as conn:
            conn.execute("UPDATE sync_corrections SET acknowledged_at = ? WHERE tx_id = ?", (self.now(), tx_id))

    def hq_balance(self, member_id: str) -> dict | None:
        row = self.conn.execute(f"SELECT {', '.join(BALANCE_FIELDS)} FROM sync_balances WHERE member_id = ?",
                                (member_id,)).fetchone()
        return dict(zip(BALANCE_FIELDS, row)) if row else None

    def shown_balance(self, member_id: str, kiosk_id: str) -> dict | None:
        """Head office's last confirmed balance plus this kiosk's own not-yet-confirmed transactions."""
        base = self.hq_balance(member_id)
        if base is None:
            return None
        points, fen = base["points"], base["principal_fen"] + base["bonus_fen"]
        for (record,) in self.conn.execute(
                "SELECT j.record FROM outbox o JOIN journal j ON j.tx_id = o.tx_id WHERE o.confirmed_at IS NULL"
                " AND j.member_id = ? AND j.kiosk_id = ? ORDER BY o.seq", (member_id, kiosk_id)):
            change = summarise(json.loads(record), member_id)
            points += change["points"]
            fen += change["stored_value_fen"]
        return {"member_id": member_id, "points": points, "stored_value_fen": fen, "as_of": base["as_of"]}
