"""Which feed records a store's kiosks receive, so serving the feed grows with a store, not with the chain
(issue 15, "Feed"), and an SD card holds its own store's members, not the chain's (issue 10, "Minimisation").

A record goes to the kiosks of store S when, at the moment it gets its feed position (:func:`index`
records its stores in ``hq_store_log``, so a page reads only its store's rows),

- it concerns S itself: its ``store_id`` is S (every transaction made at S's kiosks, head office's
  restocks of S's gift stock, S's staff records), or
- a member it touches (its ``member_id``, or another member its effects touch, e.g. a referrer)
  belongs to S: registered or imported at S (the home store), or looked up from one of S's kiosks
  when they tapped there (``card.lookup``, kept in ``hq_store_members`` from then on).

Head office's own records for no store (``store_id`` "hq": an erasure, a chain-wide run) reach the
stores of the members they touch, no store by their own ``store_id``. Everything else is left out of the page (never read); the kiosk's position still moves past it. A
member looked up from S gets, with the look-up's answer, that member's records so far
(:func:`member_records`) and head office's balance (docs/personal-data.md).
"""
from __future__ import annotations

import json

from ..protocol import topics
from .opsdb import HOME_KINDS

FEED_SCOPE_DDL = """
CREATE TABLE IF NOT EXISTS hq_store_members (
    store_id TEXT NOT NULL, member_id TEXT NOT NULL, source_id TEXT NOT NULL, since TEXT NOT NULL,
    PRIMARY KEY (store_id, member_id));
CREATE INDEX IF NOT EXISTS hq_journal_homes ON journal (member_id) WHERE kind IN ('register', 'import_member');
CREATE INDEX IF NOT EXISTS hq_journal_others_tx ON journal_others (tx_id);
"""
# The records that say who a member is: what a kiosk needs to recognise their card and show their name
# (sent alone when a member's records are too many for one answer).
IDENTITY_KINDS = ("register", "import_member", "profile", "card_lost", "card_replace", "tier", "close", "erase")


def store_of(conn, alias: str) -> str:
    """SQL for the ``store_id`` inside journal row ``alias``'s record (the row keeps it only there)."""
    return _store_of(getattr(conn, "dialect", "sqlite"), alias)


def _store_of(dialect: str, alias: str) -> str:
    if dialect == "postgresql":
        return f"({alias}.record::json ->> 'store_id')"
    return f"json_extract({alias}.record, '$.store_id')"


def _belongs(conn, member: str) -> str:
    """SQL: ``member`` belongs to the store given as the next two parameters (looked up there, or home)."""
    return (f"(EXISTS (SELECT 1 FROM hq_store_members s WHERE s.store_id = ? AND s.member_id = {member})"
            f" OR EXISTS (SELECT 1 FROM journal r WHERE r.member_id = {member} AND r.kind IN {HOME_KINDS}"
            f" AND {store_of(conn, 'r')} = ?))")


# Rebuilt whole when the migration runs (its data step fills it from hq_log): running it again changes nothing.
# The key serves a store's pages; the index on hq_seq, the stores whose feed moved (feedheads.py).
STORE_LOG_DDL = """
DROP TABLE IF EXISTS hq_store_log;
CREATE TABLE hq_store_log (
    store_id TEXT NOT NULL, hq_seq INTEGER NOT NULL, tx_id TEXT NOT NULL, PRIMARY KEY (store_id, hq_seq));
CREATE INDEX hq_store_log_seq ON hq_store_log (hq_seq);
"""


def index(execute, dialect: str, after: int) -> None:
    """Record, for every feed row numbered above ``after``, each store whose feed it belongs in (rows of
    ``hq_store_log``), in the transaction that numbers them: a page of a store's feed is then a range of
    that table's key, and no reader sees a position whose store rows are not there yet. Membership is
    judged when the row is numbered: a member looked up later gets their earlier records with the
    look-up's answer (:func:`member_records`), not through the feed."""
    execute(
        "WITH n AS (SELECT hq_seq, tx_id FROM hq_log WHERE hq_seq > ?),"
        " m AS (SELECT n.hq_seq, n.tx_id, j.member_id FROM n JOIN journal j ON j.tx_id = n.tx_id"
        " WHERE j.member_id IS NOT NULL"
        " UNION SELECT n.hq_seq, n.tx_id, o.member_id FROM n JOIN journal_others o ON o.tx_id = n.tx_id),"
        f" x AS (SELECT {_store_of(dialect, 'j')} AS store_id, n.hq_seq, n.tx_id"
        " FROM n JOIN journal j ON j.tx_id = n.tx_id"
        " UNION SELECT s.store_id, m.hq_seq, m.tx_id FROM m JOIN hq_store_members s ON s.member_id = m.member_id"
        f" UNION SELECT {_store_of(dialect, 'r')}, m.hq_seq, m.tx_id FROM m JOIN journal r ON r.member_id = m.member_id"
        f" AND r.kind IN {HOME_KINDS})"
        " INSERT INTO hq_store_log (store_id, hq_seq, tx_id) SELECT store_id, hq_seq, tx_id FROM x"
        f" WHERE store_id IS NOT NULL AND store_id NOT IN {tuple(sorted(topics.RESERVED))}", (after,))


def belongs(conn, store_id: str, member_id: str) -> bool:
    """The member is ``store_id``'s: registered or imported there, or looked up from one of its kiosks."""
    return conn.execute(f"SELECT {_belongs(conn, '?')}", (store_id, member_id, member_id, store_id)).fetchone()[0] \
        in (1, True)


def remember(db, store_id: str, member_id: str, source_id: str, at: str) -> None:
    """A member of another store was looked up from ``source_id`` (of ``store_id``): from now on their
    records go to that store's kiosks."""
    if db.conn.execute("SELECT 1 FROM hq_store_members WHERE store_id = ? AND member_id = ?",
                       (store_id, member_id)).fetchone():
        return
    with db.transaction([f"member:{member_id}"]):      # not the whole ledger: a look-up never waits for it
        db.conn.execute("INSERT INTO hq_store_members (store_id, member_id, source_id, since) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (store_id, member_id) DO NOTHING", (store_id, member_id, source_id, at))


def member_records(conn, member_id: str, max_bytes: int) -> list[dict]:
    """What a kiosk that looks a member up gets with the answer: every record that touches them, in feed
    order (so their lots, stored value, packages and coupons are the same here as at head office, and
    the kiosk's journal still replays to its balances); past ``max_bytes``, only the records that say
    who they are (:data:`IDENTITY_KINDS`): they earn at that kiosk, but it holds none of their earlier
    points or stored value to spend (docs/personal-data.md)."""
    rows = conn.execute("SELECT j.kind, j.record FROM journal j JOIN hq_log l ON l.tx_id = j.tx_id WHERE j.member_id = ?"
                        " OR j.tx_id IN (SELECT o.tx_id FROM journal_others o WHERE o.member_id = ?)"
                        " ORDER BY l.hq_seq", (member_id, member_id)).fetchall()
    if sum(len(text) for _, text in rows) > max_bytes:
        rows = [(kind, text) for kind, text in rows if kind in IDENTITY_KINDS]
    return [json.loads(text) for _, text in rows]
