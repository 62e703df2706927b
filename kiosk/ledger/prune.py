"""``kioskctl prune``: a kiosk upgraded from the chain-wide feed keeps only what the store-scoped feed
would have brought it (sync/hq/feedscope.py, docs/personal-data.md).

Kept: this kiosk's own records, every record made at or for its store, and every record touching a
member it holds: a member registered or imported at its store, one its own records name, or one it
looked up (it has their data key or head office's balance from the look-up). Everything else is
deleted from the journal, and the projections are rebuilt by replaying what is left (the replay
``kioskctl verify`` compares them with), so the file still verifies. Other stores' members leave the
file entirely: their ids, cards, balances, history, and the ciphertext of their personal data.
"""
from __future__ import annotations

import json

from . import schema
from .core import write_transaction
from .errors import LedgerError
from .journal import others
from .verify import replay, verify


def held_members(conn, kiosk_id: str, store_id: str) -> set[str]:
    held = {m for (m,) in conn.execute("SELECT member_id FROM member_keys WHERE data_key IS NOT NULL"
                                       " UNION SELECT member_id FROM confirmed_balances")}
    for (text,) in conn.execute("SELECT record FROM journal WHERE kiosk_id = ?"
                                " OR kind IN ('register', 'import_member')", (kiosk_id,)):
        record = json.loads(text)
        if record["kiosk_id"] == kiosk_id or record["store_id"] == store_id:
            held |= set(others(record)) | ({record["member_id"]} if record["member_id"] else set())
    return held


def prune(conn, kiosk_id: str, store_id: str) -> dict:
    """Delete what this kiosk would not hold under the store-scoped feed; refused when the file does not
    verify before, since the projections are rebuilt from the journal."""
    problems = verify(conn)
    if problems:
        raise LedgerError(f"the ledger does not verify, nothing pruned: {problems[0]}", "inconsistent")
    held = held_members(conn, kiosk_id, store_id)
    keep, drop = [], []
    for tx_id, text in conn.execute("SELECT tx_id, record FROM journal ORDER BY rowid"):
        record = json.loads(text)
        members = set(others(record)) | ({record["member_id"]} if record["member_id"] else set())
        mine = record["kiosk_id"] == kiosk_id or record["store_id"] == store_id or members & held
        (keep if mine else drop).append(record if mine else tx_id)
    with write_transaction(conn):
        for tx_id in drop:
            conn.execute("DELETE FROM journal_others WHERE tx_id = ?", (tx_id,))
            conn.execute("DELETE FROM journal WHERE tx_id = ?", (tx_id,))
        rebuilt = replay(keep)
        for table in schema.PROJECTIONS:
            rows = rebuilt.execute(f"SELECT * FROM {table}").fetchall()
            conn.execute(f"DELETE FROM {table}")
            if rows:
                marks = ", ".join("?" * len(rows[0]))
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        kept = json.dumps(sorted(held))
        conn.execute("DELETE FROM member_keys WHERE member_id NOT IN (SELECT value FROM json_each(?))", (kept,))
        conn.execute("DELETE FROM confirmed_balances WHERE member_id NOT IN (SELECT value FROM json_each(?))", (kept,))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")      # deleted pages leave the WAL too (secure_delete zeroes them)
    return {"records_deleted": len(drop), "records_kept": len(keep), "members_held": len(held)}
