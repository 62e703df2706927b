"""Persistent replay memory for NTAG 424 DNA read counters, kept in the kiosk's ledger file.

Implements ``drivers.sun.CounterStore``: a SUN message is accepted only when its read counter is
greater than the last one accepted for that card, across restarts and across the processes that
share the file. One conditional upsert decides atomically.
"""
from __future__ import annotations

import sqlite3
import threading

from .ledger.core import connect

_DDL = "CREATE TABLE IF NOT EXISTS sun_counters (uid TEXT PRIMARY KEY, counter INTEGER NOT NULL)"


class SqliteCounterStore:
    def __init__(self, path: str):
        self._conn: sqlite3.Connection = connect(path)
        self._conn.execute(_DDL)
        self._lock = threading.Lock()

    def advance(self, uid: bytes, counter: int) -> bool:
        """Record ``counter``; True only when it is greater than the last accepted for ``uid``."""
        with self._lock:
            cursor = self._conn.execute(
                "INSERT INTO sun_counters (uid, counter) VALUES (?, ?) ON CONFLICT (uid) DO UPDATE"
                " SET counter = excluded.counter WHERE excluded.counter > sun_counters.counter",
                (uid.hex(), counter))
            return cursor.rowcount == 1

    def close(self) -> None:
        self._conn.close()
