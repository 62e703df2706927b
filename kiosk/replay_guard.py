"""Persistent replay memory, kept in the kiosk's ledger file so it survives restarts.

- NTAG 424 DNA read counters (``drivers.sun.CounterStore``): a SUN message is accepted only when
  its read counter is greater than the last one accepted for that card.
- Phone QR codes (``drivers.codes.qr.ReplayMemory``): each (member, time step) is accepted once
  while it could still be valid.

Shared by every process using the file; one conditional write decides each use atomically.
"""
from __future__ import annotations

import sqlite3
import threading

from drivers.verdict import BUSY, REPLAYED

from .ledger.core import connect, write_transaction


class _InLedger:
    """A connection to the ledger file with this guard's table, used under a lock."""

    DDL: tuple[str, ...] = ()

    def __init__(self, path: str):
        self._conn: sqlite3.Connection = connect(path)
        for statement in self.DDL:
            self._conn.execute(statement)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._conn.close()


class SqliteCounterStore(_InLedger):
    DDL = ("CREATE TABLE IF NOT EXISTS sun_counters (uid TEXT PRIMARY KEY, counter INTEGER NOT NULL)",)

    def advance(self, uid: bytes, counter: int) -> bool:
        """Record ``counter``; True only when it is greater than the last accepted for ``uid``."""
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO sun_counters (uid, counter) VALUES (?, ?) ON CONFLICT (uid) DO UPDATE"
                " SET counter = excluded.counter WHERE excluded.counter > sun_counters.counter",
                (uid.hex(), counter))
            return cursor.rowcount == 1


class SqliteQrReplay(_InLedger):
    """Phone QR codes already used; rows older than the validity window are dropped as codes arrive."""

    DDL = ("CREATE TABLE IF NOT EXISTS qr_used (member_id TEXT NOT NULL, step INTEGER NOT NULL,"
           " PRIMARY KEY (member_id, step)) WITHOUT ROWID",
           "CREATE INDEX IF NOT EXISTS qr_used_step ON qr_used (step)")

    def __init__(self, path: str, capacity: int = 10_000):
        super().__init__(path)
        self.capacity = capacity

    def use(self, member_id: str, step: int, oldest_valid: int) -> str | None:
        """Record a use; a refusal reason when the code was used before or too many are in the window."""
        with self._lock, write_transaction(self._conn):
            self._conn.execute("DELETE FROM qr_used WHERE step < ?", (oldest_valid,))
            if self._conn.execute("SELECT 1 FROM qr_used WHERE member_id = ? AND step = ?",
                                  (member_id, step)).fetchone():
                return REPLAYED
            (held,) = self._conn.execute("SELECT COUNT(*) FROM qr_used").fetchone()
            if held >= self.capacity:
                return BUSY
            self._conn.execute("INSERT INTO qr_used (member_id, step) VALUES (?, ?)", (member_id, step))
            return None

    def __len__(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM qr_used").fetchone()[0]
