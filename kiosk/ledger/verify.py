"""Prove the cached balances equal the journal: replay every record into an empty copy and compare."""
from __future__ import annotations

import json
import sqlite3

from . import schema
from .apply import apply_effects


def replay(records: list[dict]) -> sqlite3.Connection:
    """A fresh in-memory database holding the projections the records produce."""
    mem = sqlite3.connect(":memory:", isolation_level=None)
    schema.create(mem)
    for record in records:
        apply_effects(mem, record, strict=False)
    return mem


def verify(conn: sqlite3.Connection) -> list[str]:
    """Differences between the projections and a replay of the journal (empty: consistent)."""
    records = [json.loads(r) for (r,) in conn.execute("SELECT record FROM journal ORDER BY rowid")]
    mem = replay(records)
    problems = []
    for table in schema.PROJECTIONS:
        have = sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
        want = sorted(mem.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
        if have != want:
            extra, missing = set(have) - set(want), set(want) - set(have)
            problems.append(f"{table}: {len(extra)} rows differ from the journal, e.g. "
                            f"{sorted(extra, key=repr)[:1]} vs {sorted(missing, key=repr)[:1]}")
    problems += check_sequences(conn)
    return problems


def check_sequences(conn: sqlite3.Connection) -> list[str]:
    """Per-kiosk sequence numbers must be gapless from 1; the outbox must match our journal."""
    problems = []
    for kiosk, low, high, count in conn.execute(
            "SELECT kiosk_id, MIN(seq), MAX(seq), COUNT(*) FROM journal GROUP BY kiosk_id"):
        if low != 1 or high != count:
            problems.append(f"journal of {kiosk}: sequence has gaps ({count} rows, {low}..{high})")
    orphan = conn.execute("SELECT COUNT(*) FROM outbox o LEFT JOIN journal j ON j.tx_id = o.tx_id"
                          " WHERE j.tx_id IS NULL OR j.seq != o.seq").fetchone()[0]
    if orphan:
        problems.append(f"outbox: {orphan} rows do not match the journal")
    return problems
