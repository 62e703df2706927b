"""The sync layer's own tables in the kiosk's SQLite file, and what the UI reads from them.

Confirmations mark outbox rows and bring head office's balances (both through the ledger's
methods); corrections are kept for the screens (a correction is never dropped: it stays until
staff acknowledge it). These tables are not ledger projections: the journal does not produce them,
so ``kiosk.ledger.verify`` leaves them alone. The offline limits, the last contact with head office
and the offline allowances belong to the ledger's spend guard (:mod:`kiosk.ledger.guard`); this
module tells it when head office was heard from.
"""
from __future__ import annotations

import json

from kiosk.ledger import Ledger, guard
from kiosk.ledger.core import write_transaction
from kiosk.ledger.dates import to_utc_text


DDL = """
CREATE TABLE IF NOT EXISTS sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sync_corrections (
    tx_id TEXT PRIMARY KEY, seq INTEGER NOT NULL, kind TEXT NOT NULL, detail TEXT NOT NULL,
    received_at TEXT NOT NULL, acknowledged_at TEXT);
DROP TABLE IF EXISTS sync_balances;
"""


class SyncState:
    """The sync layer's tables in a kiosk's ledger file (it shares the ledger's connection)."""

    def __init__(self, ledger: Ledger):
        self.ledger, self.conn, self.clock = ledger, ledger.conn, ledger.clock
        self.conn.executescript("BEGIN IMMEDIATE;" + DDL + "COMMIT;")

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
        """Mark this kiosk's records up to head office's mark and keep its balances (the ledger's) and its
        corrections (ours, until staff acknowledge them), in one commit. Returns the mark."""
        with self.write() as conn:
            now = self.now()
            hwm = self.ledger.confirm(body["hwm"], body["balances"])
            if hwm > self.confirmed():
                self.put("confirmed", hwm)
            for c in body["corrections"]:
                conn.execute("INSERT INTO sync_corrections (tx_id, seq, kind, detail, received_at)"
                             " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tx_id) DO NOTHING",
                             (c["tx_id"], c["seq"], c["kind"], json.dumps(c["detail"], ensure_ascii=False), now))
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
