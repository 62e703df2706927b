"""The journal record, its one owner: build, seal, append, apply, and the outbox (unsent, confirm).

A kiosk's transaction, a head-office origination and a generated test chain are all built by
:meth:`Record.build`; a record is journaled by :func:`append` (the one INSERT), and a record made
elsewhere (head office's ingest, a kiosk's feed) by :func:`apply` (its effects, then the append).
A kiosk's own records also go to its outbox; the sync agent reads what is :func:`unsent` and marks
what head office confirmed with :func:`confirm`.

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
import sqlite3
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from .apply import apply_effects

RECORD_VERSION = 3       # 3: records state their inputs (docs/protocol.md, "Inputs")
GENESIS = "0" * 64
SEALS = ("prev", "hash")


@dataclass
class Record:
    """What one transaction is on the wire (version :data:`RECORD_VERSION`): who, where, when, why, its
    data, the inputs a kiosk made it from (``inputs``, re-derived by head office; absent on head
    office's own records) and the effects that change the projections."""

    tx_id: str
    kiosk_id: str
    store_id: str
    channel: str
    seq: int
    kind: str
    at: str
    operator: str
    member_id: str | None = None
    ref_tx: str | None = None
    reason: str = ""
    data: dict = field(default_factory=dict)
    effects: list = field(default_factory=list)
    inputs: dict | None = None
    v: int = RECORD_VERSION

    @classmethod
    def build(cls, *, source_id: str, store_id: str, channel: str, seq: int, kind: str, at: str, operator: str,
              member_id: str | None = None, ref_tx: str | None = None, reason: str = "", data: dict | None = None,
              effects: list | None = None, tx_id: str | None = None, inputs: dict | None = None) -> dict:
        """A new record as the dict that is sealed, journaled and sent (``data``, ``effects`` and
        ``inputs`` are the caller's own objects; the first two are filled while the transaction is built)."""
        return cls(tx_id or str(uuid.uuid4()), source_id, store_id, channel, seq, kind, at, operator, member_id,
                   ref_tx, reason, data if data is not None else {}, effects if effects is not None else [],
                   inputs).wire()

    def wire(self) -> dict:
        """The record's wire form (the same keys a first-release kiosk wrote, plus ``v``): its fields,
        shared, not copied (``data`` and ``effects`` are still being filled)."""
        wire = dict(vars(self))
        if wire["inputs"] is None:
            del wire["inputs"]
        return {"v": wire.pop("v"), **wire}


def _whole(value):
    """PostgreSQL sums integers as NUMERIC: a whole Decimal is the integer it stands for."""
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    raise TypeError(f"{type(value).__name__} {value!r} is not a record value")


def canonical(record: dict) -> bytes:
    body = {k: v for k, v in record.items() if k not in SEALS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_whole).encode()


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


def next_seq(conn, source_id: str) -> int:
    (seq,) = conn.execute("SELECT COALESCE(MAX(seq), 0) + 1 FROM journal WHERE kiosk_id = ?", (source_id,)).fetchone()
    return seq


INSERT = ("INSERT INTO journal (tx_id, kiosk_id, seq, kind, at, operator, member_id, ref_tx, reason, record, hash)"
           " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def _row(r: dict, link: str) -> tuple:
    return (r["tx_id"], r["kiosk_id"], r["seq"], r["kind"], r["at"], r["operator"], r["member_id"], r["ref_tx"],
            r["reason"], json.dumps(r, separators=(",", ":"), ensure_ascii=False, default=_whole), link)


def append(conn, record: dict, link: str, *, outbox: bool = False) -> None:
    """The one INSERT of a journal row, on a kiosk (SQLite) and at head office (SQLite or PostgreSQL),
    indexed under every other member it touches (a member's history). ``outbox``: a kiosk's own
    record, to be sent to head office (queued in the same commit)."""
    conn.execute(INSERT, _row(record, link))
    _index_others(conn.execute, record)
    if outbox:
        conn.execute("INSERT INTO outbox (seq, tx_id) VALUES (?, ?)", (record["seq"], record["tx_id"]))


def append_many(conn: sqlite3.Connection, sealed: list[tuple[dict, str]]) -> None:
    """:func:`append` for a bulk load into SQLite: each (record, link hash), in order."""
    conn.executemany(INSERT, [_row(record, link) for record, link in sealed])
    for record, _ in sealed:
        _index_others(conn.execute, record)


def apply(conn, record: dict, link: str, *, strict: bool = True) -> list[dict]:
    """Journal a record made elsewhere: its effects on the projections, then the row. Returns the
    shortfalls (effects that took more than there was; empty when ``strict``, which refuses them)."""
    shortfalls = apply_effects(conn, record, strict=strict)
    append(conn, record, link)
    return shortfalls


def unsent(conn, from_seq: int = 1, limit: int = -1, member_id: str | None = None) -> list[tuple[int, dict]]:
    """This kiosk's records head office has not confirmed, from ``from_seq`` on, as (seq, record),
    oldest first; ``member_id``: only that member's."""
    rows = conn.execute(
        "SELECT o.seq, j.record FROM outbox o JOIN journal j ON j.tx_id = o.tx_id WHERE o.seq >= ?"
        " AND o.confirmed_at IS NULL AND (? IS NULL OR j.member_id = ?) ORDER BY o.seq LIMIT ?",
        (from_seq, member_id, member_id, limit)).fetchall()
    return [(seq, json.loads(text)) for seq, text in rows]


def confirm(conn, hwm: int, at: str) -> int:
    """Head office has this kiosk's records up to ``hwm`` (capped at what was sent): mark them. Returns the mark."""
    (top,) = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()
    hwm = min(hwm, top)
    conn.execute("UPDATE outbox SET confirmed_at = ? WHERE seq <= ? AND confirmed_at IS NULL", (at, hwm))
    return hwm


def backlog(conn) -> int:
    (count,) = conn.execute("SELECT COUNT(*) FROM outbox WHERE confirmed_at IS NULL").fetchone()
    return count


def summarise(record: dict, member_id: str) -> dict:
    """Net change a transaction made to one member: points, stored value (fen)."""
    points = sv = 0
    for e in record["effects"]:
        if e.get("member_id") != member_id:
            continue
        if e["op"] == "lot.add":
            points += e["points"]
        elif e["op"] == "lot.take":
            points -= e["points"]
        elif e["op"] == "debt" and e["delta"] < 0:
            points += -e["delta"]
        elif e["op"] == "debt":
            points -= e["delta"]
        elif e["op"] == "sv":
            sv += e["principal"] + e["bonus"]
    return {"points": points, "stored_value_fen": sv, "amount_fen": record["data"].get("payable_fen")}


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
