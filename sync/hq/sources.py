"""Enrolled sources: head office takes records and questions only from sources it enrolled.

A source (kiosk, web shop, POS) is enrolled with its store and channel. Its certificate identity
is its id: the broker takes the certificate's CN as the MQTT user name and client id, and the
ACL (``broker/acl``) lets a user publish only under its own name in the topic, so the source
level of a topic names the certificate that published it. A kiosk's UI connects as
``<id>.ui`` and may only ask questions (docs/sync.md, "Enrolling sources").

Anything from an unknown or retired source, or from a source claiming a store or channel it was
not enrolled with, is refused: nothing applied, logged every time, and a ``source_refused`` alert
with the reason, once per source and reason every ``ALERT_EVERY`` (a retired kiosk left running
resends and asks for the feed every minute; operations need to hear it, not a thousand times).
"""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from kiosk.ledger.clock import Clock, from_env, now_text
from kiosk.ledger.dates import to_utc_text

from ..protocol import topics

if TYPE_CHECKING:
    from .db import Db

log = logging.getLogger("sync.hq.sources")
CHANNELS = ("kiosk", "web", "pos")
HQ_PREFIXES = ("hq", "ops")       # head office's own identities (hub ids hq-1, hq-ops...) are never sources
ALERT_EVERY = timedelta(minutes=10)

ENROLMENT_DDL = """
CREATE TABLE IF NOT EXISTS hq_enrolled (
    source_id TEXT PRIMARY KEY, store_id TEXT NOT NULL, channel TEXT NOT NULL,
    enrolled_at TEXT NOT NULL, retired_at TEXT, retired_reason TEXT);
"""


class Refused(ValueError):
    """A record or question from a source head office does not accept (the reason is the message)."""


class Sources:
    def __init__(self, db: "Db", clock: Clock | None = None):
        self.db, self.conn, self.clock = db, db.conn, clock or from_env()

    # -- the hub's check -----------------------------------------------------------------------
    def admit(self, store_id: str, identity: str, channel: str, *, records: bool) -> str:
        """The enrolled source behind ``identity`` (a topic's source level); Refused otherwise.
        ``records``: the message carries transactions (a UI identity may only ask questions)."""
        source_id, role = topics.split_identity(identity)
        if role and records:
            raise Refused(f"{identity} is {source_id}'s {role} and may not send records")
        row = self.conn.execute("SELECT store_id, channel, retired_at, retired_reason FROM hq_enrolled"
                                " WHERE source_id = ?", (source_id,)).fetchone()
        if row is None:
            raise Refused(f"source {source_id} is not enrolled")
        enrolled_store, enrolled_channel, retired_at, retired_reason = row
        if retired_at:
            raise Refused(f"source {source_id} was retired at {retired_at} ({retired_reason})")
        if store_id != enrolled_store:
            raise Refused(f"source {source_id} claims store {store_id} but is enrolled for store {enrolled_store}")
        if channel != enrolled_channel:
            raise Refused(f"source {source_id} claims channel {channel} but is enrolled as {enrolled_channel}")
        return source_id

    def refusal_alert(self, identity: str, reason: str, topic: str) -> dict | None:
        """Log a refusal and record it in hq_alerts; the alert body to publish on the operations topic,
        or None when the same source was refused for the same reason within ``ALERT_EVERY``."""
        log.warning("refused message on %s: %s", topic, reason)
        source_id = topics.split_identity(identity)[0]      # the hub parsed the topic before it refused
        detail = {"reason": reason, "topic": topic[:200]}
        since = to_utc_text(self.clock.now() - ALERT_EVERY)
        with self.db.transaction([f"refused:{source_id}"]):
            recent = self.conn.execute(
                "SELECT detail FROM hq_alerts WHERE kind = 'source_refused' AND source_id = ? AND at > ?",
                (source_id, since)).fetchall()
            if any(json.loads(d)["reason"] == reason for (d,) in recent):
                return None
            self.conn.execute("INSERT INTO hq_alerts (at, kind, source_id, tx_id, member_id, detail)"
                              " VALUES (?, 'source_refused', ?, '', '', ?)",
                              (now_text(self.clock), source_id, json.dumps(detail)))
        return {"kind": "source_refused", "source_id": source_id, "tx_id": "", "member_id": "", "detail": detail}

    # -- head office's commands ----------------------------------------------------------------
    def enrol(self, source_id: str, store_id: str, channel: str = "kiosk") -> dict:
        """Enrol a source, or re-enrol a retired one (same store and channel only)."""
        check_source_id(source_id)
        topics.check_id(store_id, "store id")
        if channel not in CHANNELS:
            raise ValueError(f"channel {channel!r} must be one of {', '.join(CHANNELS)}")
        with self.db.transaction():
            row = self.conn.execute("SELECT store_id, channel, retired_at FROM hq_enrolled WHERE source_id = ?",
                                    (source_id,)).fetchone()
            seen = self.conn.execute("SELECT store_id FROM hq_sources WHERE source_id = ?", (source_id,)).fetchone()
            known_store = row[0] if row else seen[0] if seen else store_id
            if known_store != store_id or (row and row[1] != channel):
                raise ValueError(f"source {source_id} belongs to store {known_store}"
                                 f"{f' as {row[1]}' if row else ''}: a source never changes store or channel"
                                 " (enrol a new id)")
            if row and not row[2]:
                raise ValueError(f"source {source_id} is already enrolled")
            self.conn.execute("INSERT INTO hq_enrolled (source_id, store_id, channel, enrolled_at) VALUES (?, ?, ?, ?)"
                              " ON CONFLICT (source_id) DO UPDATE SET enrolled_at = excluded.enrolled_at,"
                              " retired_at = NULL, retired_reason = NULL",
                              (source_id, store_id, channel, now_text(self.clock)))
        log.info("enrolled source %s of store %s (%s)", source_id, store_id, channel)
        return {"source_id": source_id, "store_id": store_id, "channel": channel,
                "identities": [source_id, *(f"{source_id}.{role}" for role in topics.ROLES)]}

    def enrol_seen(self) -> list[dict]:
        """Enrol every source this hub has already taken records from (upgrading a running chain)."""
        seen = self.conn.execute("SELECT s.source_id, s.store_id, s.channel FROM hq_sources s"
                                 " LEFT JOIN hq_enrolled e ON e.source_id = s.source_id"
                                 " WHERE e.source_id IS NULL AND s.source_id <> 'hq' ORDER BY s.source_id").fetchall()
        return [self.enrol(source_id, store_id, channel) for source_id, store_id, channel in seen]

    def retire(self, source_id: str, reason: str) -> dict:
        """Refuse the source from now on; what it sent before stays applied."""
        with self.db.transaction():
            row = self.conn.execute("SELECT retired_at FROM hq_enrolled WHERE source_id = ?", (source_id,)).fetchone()
            if row is None:
                raise ValueError(f"source {source_id} is not enrolled")
            if row[0]:
                raise ValueError(f"source {source_id} was already retired at {row[0]}")
            at = now_text(self.clock)
            self.conn.execute("UPDATE hq_enrolled SET retired_at = ?, retired_reason = ? WHERE source_id = ?",
                              (at, reason, source_id))
        log.info("retired source %s: %s", source_id, reason)
        return {"source_id": source_id, "retired_at": at, "reason": reason}

    def listing(self) -> list[dict]:
        """Every enrolled or seen source: enrolment, mark, chain tip, held or not."""
        keys = ("source_id", "store_id", "channel", "enrolled_at", "retired_at", "retired_reason",
                "confirmed_to", "tip", "sealed", "held", "last_seen")
        rows = self.conn.execute(
            "SELECT e.source_id, e.store_id, e.channel, e.enrolled_at, e.retired_at, e.retired_reason,"
            " s.hwm, s.tip, s.sealed, s.held, s.last_seen FROM hq_enrolled e"
            " LEFT JOIN hq_sources s ON s.source_id = e.source_id"
            " UNION ALL SELECT s.source_id, s.store_id, s.channel, NULL, NULL, NULL,"
            " s.hwm, s.tip, s.sealed, s.held, s.last_seen FROM hq_sources s"
            " WHERE NOT EXISTS (SELECT 1 FROM hq_enrolled e WHERE e.source_id = s.source_id)").fetchall()
        # head office's own source ``hq`` never comes over MQTT: it needs no enrolment
        return [{**dict(zip(keys, r)), "enrolled": r[0] == "hq" or (r[3] is not None and r[4] is None)}
                for r in sorted(rows, key=lambda r: r[0])]


def check_source_id(source_id: str) -> str:
    """A source id head office can enrol: a topic id that no head-office identity could have."""
    topics.check_id(source_id, "source id")
    if any(source_id == p or source_id.startswith(f"{p}-") for p in HQ_PREFIXES):
        raise ValueError(f"source id {source_id!r} is reserved for head office (hq, hq-*, ops, ops-*)")
    return source_id
