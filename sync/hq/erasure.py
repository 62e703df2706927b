"""Erasure at head office (PIPL): a manager erases a member's name, phone and birthday chain-wide.

The erasure is a journaled head-office transaction (``erase``, effect ``member.erase``): applying it
destroys the member's data key here, and the feed carries it to every kiosk, which destroys its copy.
Balances, cards and history are untouched; the journal's ciphertext stays (the hash chain covers it)
and can no longer be opened. See docs/personal-data.md.
"""
from __future__ import annotations

from datetime import datetime

from kiosk.ledger.dates import to_utc_text

from .db import Db
from .ingest import Ingest


def erase_member(db: Db, member_id: str, *, by: str, reason: str, now: datetime) -> dict:
    if not reason.strip():
        raise ValueError("erasing a member's personal data needs a --reason")
    with db.transaction():
        staff = db.conn.execute("SELECT role FROM staff WHERE staff_id = ?", (by,)).fetchone()
        if staff is None or staff[0] != "manager":
            raise PermissionError(f"{by} is not a manager known to head office")
        if db.conn.execute("SELECT 1 FROM members WHERE member_id = ?", (member_id,)).fetchone() is None:
            raise LookupError(f"member {member_id} is not known at head office")
        key = db.conn.execute("SELECT data_key FROM member_keys WHERE member_id = ?", (member_id,)).fetchone()
        if key is not None and key[0] is None:
            raise LookupError(f"member {member_id}'s personal data is already erased")
        record = Ingest(db).originate_within("erase", [{"op": "member.erase", "member_id": member_id}],
                                             store_id="hq", operator=by, member_id=member_id,
                                             reason=reason.strip(), at=to_utc_text(now))
    scrub(db)
    return {"tx_id": record["tx_id"], "member_id": member_id, "erased": True, "by": by}


def scrub(db: Db) -> None:
    """Push the destroyed key out of places the database keeps old copies: SQLite's WAL (secure_delete
    already zeroes the page), PostgreSQL's dead row versions (the table is rewritten)."""
    if db.dialect == "sqlite":
        db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        db.conn.execute("VACUUM FULL member_keys")
