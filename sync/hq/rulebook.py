"""Every rules version head office ever published, kept by hash, so a record is re-derived with the
rules the kiosk priced it with (a kiosk can be offline across a rules change)."""
from __future__ import annotations

from kiosk.ledger import REFERENCE_RULES, Rules, load_rules

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

    def get(self, digest: str) -> Rules | None:
        rules = self._loaded.get(digest)
        if rules is None:
            row = self.conn.execute("SELECT text FROM hq_rules WHERE digest = ?", (digest,)).fetchone()
            if row is None:
                return None
            rules = self._loaded[digest] = load_rules(row[0])
        return rules
