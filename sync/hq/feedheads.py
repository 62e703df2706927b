"""Which stores' feeds moved, so a hub tells only those stores' kiosks (issue 15, docs/sync.md "Feed heads").

A kiosk learns that its feed has something new from a retained, signed ``feed.head`` on its store's topic
(``kiosk/v1/hq/feed/<store>``): the position of the newest row of that store's feed (``hq_store_log``),
published only when it moved. Before, one chain-wide head went to every kiosk whenever any store's feed
moved: a thousand kiosks got a message a second from each hub while any of them was busy.

One hub at a time publishes heads (PostgreSQL: a session advisory lock, held while the hub is connected to
the broker; released with its connection when it dies), so two hubs do not send every head twice. The
hub that takes the role over publishes every store's head once: whatever the previous one read and did
not get out is sent. The chain-wide head (``kiosk/v1/hq/feed``) still goes out, at most every
:data:`LEGACY_EVERY` seconds, for kiosks of earlier releases (which also ask for the feed every 30 s).
"""
from __future__ import annotations

import time
from typing import Callable

from .ingest import feed_head

PUBLISHER = 7_316_003       # advisory lock of the one hub that publishes feed heads
LEGACY_EVERY = 60.0         # seconds between chain-wide heads (kiosks of earlier releases)


class FeedHeads:
    def __init__(self, db, now: Callable[[], float] = time.monotonic):
        self.db, self.now = db, now
        self.held = db.dialect != "postgresql"      # SQLite: one hub
        self.seen, self.legacy_at, self.legacy_head, self.fresh = 0, None, None, True

    def restart(self) -> None:
        """From the start again at the next :meth:`due`: every store's head and the chain-wide head (after a
        reconnect, when the broker may have lost its retained copies; safe from paho's network thread)."""
        self.fresh = True

    def claim(self) -> bool:
        """True while this hub is the one that publishes heads (taken when free)."""
        if not self.held:
            (self.held,) = self.db.conn.execute(f"SELECT pg_try_advisory_lock({PUBLISHER})").fetchone()
            if self.held:
                self.restart()
        return self.held

    def release(self) -> None:
        """Let another hub publish (this one lost the broker)."""
        if self.held and self.db.dialect == "postgresql":
            self.db.conn.execute(f"SELECT pg_advisory_unlock({PUBLISHER})")
            self.held = False

    def due(self) -> tuple[dict[str, int], int | None]:
        """(each store whose feed moved since the last call -> its newest position; the chain-wide head
        when it moved and :data:`LEGACY_EVERY` has passed, else None). The head is read first: every
        store row up to it is there (they are written with the positions, feedlog.py)."""
        if self.fresh:
            self.fresh, self.seen, self.legacy_at, self.legacy_head = False, 0, None, None
        head = feed_head(self.db.conn)
        moved = {}
        if head > self.seen:
            moved = dict(self.db.conn.execute(
                "SELECT store_id, MAX(hq_seq) FROM hq_store_log WHERE hq_seq > ? AND hq_seq <= ? GROUP BY store_id",
                (self.seen, head)).fetchall())
            self.seen = head
        legacy = None
        if head != self.legacy_head and (self.legacy_at is None or self.now() - self.legacy_at >= LEGACY_EVERY):
            legacy, self.legacy_head, self.legacy_at = head, head, self.now()
        return moved, legacy
