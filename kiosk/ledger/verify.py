"""Prove the cached balances equal the journal: replay every record into an empty copy and compare."""
from __future__ import annotations

import json
import sqlite3

from . import journal, schema
from .apply import apply_effects


def replay(records: list[dict], problems: list[str] | None = None) -> sqlite3.Connection:
    """A fresh in-memory database holding the projections the records produce. A record that cannot
    be replayed (a tampered journal) is skipped and named in ``problems``; without that list it raises."""
    mem = sqlite3.connect(":memory:", isolation_level=None)
    schema.create(mem)
    for record in records:
        mem.execute("SAVEPOINT record")
        try:
            apply_effects(mem, record, strict=False)
        except Exception as exc:
            if problems is None:
                raise
            mem.execute("ROLLBACK TO record")
            problems.append(f"journal of {record.get('kiosk_id')}: seq {record.get('seq')} cannot be replayed: {exc}")
        mem.execute("RELEASE record")
    return mem


def verify(conn: sqlite3.Connection) -> list[str]:
    """Differences between the projections and a replay of the journal, and breaks in the journal's
    hash chains (empty: consistent). The kiosk's own records (those in its outbox) must form one
    unbroken chain from seq 1."""
    problems: list[str] = []
    records = []
    for (text,) in conn.execute("SELECT record FROM journal ORDER BY rowid"):
        try:
            records.append(json.loads(text))
        except ValueError:
            problems.append("journal: a record is not JSON")
    mem = replay(records, problems)
    for table in schema.PROJECTIONS:
        have = sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
        want = sorted(mem.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
        if have != want:
            extra, missing = set(have) - set(want), set(want) - set(have)
            problems.append(f"{table}: {len(extra)} rows differ from the journal, e.g. "
                            f"{sorted(extra, key=repr)[:1]} vs {sorted(missing, key=repr)[:1]}")
    own = {k for (k,) in conn.execute("SELECT DISTINCT j.kiosk_id FROM outbox o JOIN journal j ON j.tx_id = o.tx_id")}
    problems += check_sequences(conn, own)
    problems += journal.chain_problems(conn, own)
    return problems


def check_sequences(conn: sqlite3.Connection, own: set[str]) -> list[str]:
    """Sequence numbers must be gapless from 1 for this file's own sources (every source at head office,
    which has no outbox); a kiosk holds only its store's part of other sources (sync/hq/feedscope.py).
    The outbox must match our journal."""
    problems = []
    for kiosk, low, high, count in conn.execute(
            "SELECT kiosk_id, MIN(seq), MAX(seq), COUNT(*) FROM journal GROUP BY kiosk_id"):
        if (kiosk in own or not own) and (low != 1 or high != count):
            problems.append(f"journal of {kiosk}: sequence has gaps ({count} rows, {low}..{high})")
    orphan = conn.execute("SELECT COUNT(*) FROM outbox o LEFT JOIN journal j ON j.tx_id = o.tx_id"
                          " WHERE j.tx_id IS NULL OR j.seq != o.seq").fetchone()[0]
    if orphan:
        problems.append(f"outbox: {orphan} rows do not match the journal")
    return problems
