"""The journal record: its hash chain and the one INSERT that appends it (kiosk and head office).

Every record of a source links to that source's previous record:

    hash = sha256(prev + canonical(record without "prev" and "hash"))      (hex; prev of seq 1 = GENESIS)

where ``canonical`` is the protocol's canonical JSON (sorted keys, no whitespace, UTF-8). Records
from version 2 on carry ``prev`` and ``hash`` themselves, so whoever receives one can check it;
each journal row also keeps its link hash in the ``hash`` column (for first-release records it was
computed when the file was upgraded). Editing, deleting, inserting or reordering a row breaks the
chain at that row's sequence number, whatever was done to the balance tables to match.
"""
from __future__ import annotations

import hashlib
import json

RECORD_VERSION = 3       # 3: records state their inputs (docs/protocol.md, "Inputs")
GENESIS = "0" * 64
SEALS = ("prev", "hash")


def canonical(record: dict) -> bytes:
    body = {k: v for k, v in record.items() if k not in SEALS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(prev: str, record: dict) -> str:
    return hashlib.sha256(prev.encode() + canonical(record)).hexdigest()


def seal(record: dict, prev: str) -> dict:
    """Add the chain fields to a new record (its seq follows the record whose hash is ``prev``)."""
    record["prev"] = prev
    record["hash"] = link_hash(prev, record)
    return record


def seal_problem(record: dict, prev: str) -> str | None:
    """Why a sealed record does not follow ``prev``, or None when it does."""
    if record.get("prev") != prev:
        return f"prev is {str(record.get('prev'))[:12]}…, the chain has {prev[:12]}…"
    if record.get("hash") != link_hash(prev, record):
        return "hash does not match the record's contents"
    return None


def last_hash(conn, source_id: str) -> str:
    """The link hash of a source's newest journaled record (GENESIS before its first)."""
    row = conn.execute("SELECT hash FROM journal WHERE kiosk_id = ? ORDER BY seq DESC LIMIT 1",
                       (source_id,)).fetchone()
    return row[0] if row and row[0] else GENESIS


def append(conn, record: dict, link: str) -> None:
    """The one INSERT of a journal row, on a kiosk (SQLite) and at head office (SQLite or PostgreSQL),
    indexed under every other member it touches (a member's history)."""
    conn.execute(
        "INSERT INTO journal (tx_id, kiosk_id, seq, kind, at, operator, member_id, ref_tx, reason, record, hash)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (record["tx_id"], record["kiosk_id"], record["seq"], record["kind"], record["at"], record["operator"],
         record["member_id"], record["ref_tx"], record["reason"],
         json.dumps(record, separators=(",", ":"), ensure_ascii=False), link))
    _index_others(conn.execute, record)


def others(record: dict) -> list[str]:
    """The members a record's effects touch besides its own ``member_id`` (a referrer's bonus)."""
    touched = {e["member_id"] for e in record["effects"] if isinstance(e.get("member_id"), str)}
    return sorted(touched - {record["member_id"]})


def _index_others(execute, record: dict) -> None:
    for member_id in others(record):
        execute("INSERT INTO journal_others (member_id, at, tx_id) VALUES (?, ?, ?)",
                (member_id, record["at"], record["tx_id"]))


def index_others(execute) -> None:
    """Migration step: index the records journaled before journal_others existed."""
    for (text,) in execute("SELECT record FROM journal").fetchall():
        _index_others(execute, json.loads(text))


def backfill(execute) -> None:
    """Migration step: link hashes for rows journaled before the chain existed, per source in seq order."""
    rows = execute("SELECT kiosk_id, seq, tx_id, record FROM journal ORDER BY kiosk_id, seq").fetchall()
    prev_source, prev = None, GENESIS
    for source, _seq, tx_id, text in rows:
        if source != prev_source:
            prev_source, prev = source, GENESIS
        prev = link_hash(prev, json.loads(text))
        execute("UPDATE journal SET hash = ? WHERE tx_id = ?", (prev, tx_id))


def chain_problems(conn, strict: set[str]) -> list[str]:
    """The first break in each source's chain, naming its sequence number.

    The ``strict`` sources' chains (a kiosk's own) must run unbroken from seq 1. Records of other
    sources that reached this kiosk through head office's feed may have gaps; each is checked
    against its own seal and, where its predecessor is here, against that.
    """
    problems, prev_source, prev, prev_seq = [], None, GENESIS, 0
    broken: set[str] = set()
    for source, seq, tx_id, text, link in conn.execute(
            "SELECT kiosk_id, seq, tx_id, record, hash FROM journal ORDER BY kiosk_id, seq"):
        if source != prev_source:
            prev_source, prev, prev_seq = source, GENESIS, 0
        if source in broken:
            continue
        problem = _row_problem(source, seq, tx_id, text, link, prev, prev_seq, own=source in strict)
        if problem:
            problems.append(f"journal of {source}: chain broken at seq {seq}: {problem}")
            broken.add(source)
        prev, prev_seq = link, seq
    return problems


def _row_problem(source: str, seq: int, tx_id: str, text: str, link: str | None, prev: str, prev_seq: int,
                 own: bool) -> str | None:
    try:
        record = json.loads(text)
    except ValueError:
        return "the record is not JSON"
    if (record.get("kiosk_id"), record.get("seq"), record.get("tx_id")) != (source, seq, tx_id):
        return "the row's source, seq or tx_id differs from its record"
    follows = seq == prev_seq + 1
    if own and not follows:
        return f"expected seq {prev_seq + 1}"
    if "hash" in record:
        expected_prev = prev if follows else record.get("prev")
        return seal_problem(record, expected_prev) or (None if link == record["hash"] else "hash column differs")
    if not follows:
        return None if not own else f"expected seq {prev_seq + 1}"
    return None if link == link_hash(prev, record) else "hash does not match the record's contents"
