"""What head office approved online and has not yet seen spent: holds.

An online approval reserves everything it approved (points, stored value, the member's coupons
and package uses, printed coupons chain-wide, gift stock in the store) until the transaction that
spends it arrives (ingest releases the hold named in its record) or ``HOLD_SECONDS`` pass. Every
later approval counts what active holds already reserve, and the check and the new hold commit in
one serialised write transaction, so two kiosks asking at the same moment cannot both be approved
for the same balance.
"""
from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import datetime, timedelta

from kiosk.ledger.dates import to_utc_text
from kiosk.ledger.guard import Spends

HOLD_SECONDS = 300      # an online kiosk's transaction reaches head office within seconds

HOLDS_DDL = """
CREATE TABLE IF NOT EXISTS hq_spend_holds (
    hold_id TEXT PRIMARY KEY, member_id TEXT NOT NULL, store_id TEXT NOT NULL, source_id TEXT NOT NULL,
    spends TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS hq_spend_holds_expiry ON hq_spend_holds (expires_at);
"""


class Reserved:
    """What the active holds take: of this member, of this store's stock, of printed coupons."""

    def __init__(self, conn, member_id: str, store_id: str):
        self.points = self.stored_value_fen = 0
        self.coupons, self.packages, self.gifts, self.printed = Counter(), Counter(), Counter(), set()
        for member, store, body in conn.execute("SELECT member_id, store_id, spends FROM hq_spend_holds").fetchall():
            held = Spends.from_dict(json.loads(body))
            self.printed.update(held.printed_coupons)
            if store == store_id:
                self.gifts.update(held.gifts)
            if member == member_id:
                self.points += held.points
                self.stored_value_fen += held.stored_value_fen
                self.coupons.update(held.coupons)
                self.packages.update(held.packages)


def expire(conn, now: datetime) -> None:
    conn.execute("DELETE FROM hq_spend_holds WHERE expires_at <= ?", (to_utc_text(now),))


def reserve(conn, member_id: str, store_id: str, source_id: str, spends: Spends, now: datetime) -> tuple[str, str]:
    """Hold ``spends`` (the caller checked them under the same write transaction): (hold id, until)."""
    hold_id, until = str(uuid.uuid4()), to_utc_text(now + timedelta(seconds=HOLD_SECONDS))
    conn.execute("INSERT INTO hq_spend_holds (hold_id, member_id, store_id, source_id, spends, created_at, expires_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?)", (hold_id, member_id, store_id, source_id,
                                                   json.dumps(spends.as_dict()), to_utc_text(now), until))
    return hold_id, until


def release(conn, record: dict) -> None:
    """The transaction an online approval was for has arrived: its hold is spent."""
    hold = (record.get("data") or {}).get("hold")
    if isinstance(hold, str) and record.get("member_id"):
        conn.execute("DELETE FROM hq_spend_holds WHERE hold_id = ? AND member_id = ? AND source_id = ?",
                     (hold, record["member_id"], record["kiosk_id"]))
