"""Every rules version head office ever published, kept by hash, so a record is re-derived with the
rules the kiosk priced it with (a kiosk can be offline across a rules change), as long as a kiosk
could still have held them: a version replaced more than the offline window before the record's
moment is refused (a source cannot keep pricing with an old, more generous campaign)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from kiosk.ledger import REFERENCE_RULES, Rules, load_rules
from kiosk.ledger.dates import from_utc_text

from ..protocol.limits import DEFAULT_LIMITS

RULEBOOK_DDL = """
CREATE TABLE IF NOT EXISTS hq_rules (digest TEXT PRIMARY KEY, text TEXT NOT NULL, published_at TEXT NOT NULL);
"""


def keep_rules(conn, rules: Rules, at: str) -> None:
    """Remember a published rules text under its hash (inside the publishing transaction)."""
    conn.execute("INSERT INTO hq_rules (digest, text, published_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING",
                 (rules.digest, rules.source, at))


def backfill(execute) -> None:
    """Migration step: the rules published before the rule book existed."""
    row = execute("SELECT value FROM meta WHERE key = 'rules'").fetchone()
    if row:
        rules = load_rules(row[0])
        execute("INSERT INTO hq_rules (digest, text, published_at) VALUES (?, ?, ?) ON CONFLICT (digest) DO NOTHING",
                (rules.digest, rules.source, ""))


class Rulebook:
    """Rules by hash: the published ones, and the reference rules every kiosk starts with."""

    def __init__(self, conn):
        self.conn = conn
        reference = load_rules(REFERENCE_RULES.read_text())
        self._loaded: dict[str, Rules] = {reference.digest: reference}
        self._replaced: dict[str, tuple[str, datetime] | None] = {}     # this batch's reading, by digest

    def forget(self) -> None:
        """A new batch: publications and the offline window are read again (once per digest)."""
        self._replaced.clear()

    def stale(self, digest: str, at: str) -> str | None:
        """When ``digest`` was replaced, if that was more than the offline window before ``at``."""
        if digest not in self._replaced:
            self._replaced[digest] = self._replacement(digest)
        replaced = self._replaced[digest]
        return replaced[0] if replaced and from_utc_text(at) > replaced[1] else None

    def _replacement(self, digest: str) -> tuple[str, datetime] | None:
        """When ``digest`` was replaced, and the last moment a record may still be priced with it."""
        replaced, limits = self.conn.execute(      # one round trip: read once a batch
            "SELECT (SELECT MIN(published_at) FROM hq_rules WHERE published_at >"
            " COALESCE((SELECT published_at FROM hq_rules WHERE digest = ?), '')),"
            " (SELECT body FROM hq_versions WHERE name = 'limits')", (digest,)).fetchone()
        if not replaced:
            return None
        hours = json.loads(limits)["window_hours"] if limits else DEFAULT_LIMITS["window_hours"]
        return replaced, from_utc_text(replaced) + timedelta(hours=hours)

    def get(self, digest: str) -> Rules | None:
        rules = self._loaded.get(digest)
        if rules is None:
            row = self.conn.execute("SELECT text FROM hq_rules WHERE digest = ?", (digest,)).fetchone()
            if row is None:
                return None
            rules = self._loaded[digest] = load_rules(row[0])
        return rules
