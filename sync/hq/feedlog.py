"""The feed's log: every applied transaction gets a position kiosks fetch after, with no gaps.

A position is an integer (the MQTT protocol is unchanged). With several hubs committing at once a
number given at insert time (a serial) would be unsafe: a reader could see position 12 committed
before 11 and move past 11 forever. So a row is inserted without a position (``hq_seq`` NULL: every
reader asks for ``hq_seq > after``, which never matches it) and :func:`sequence` numbers the rows
after their transactions have committed: one sequencer at a time (a try-lock: a hub that finds it
taken leaves the work to the holder and to its own next loop), each run after the previous run's
commit, numbering what it sees committed above the highest position given so far, in insert order.
So the positions any reader sees are always a prefix of the final order: nothing appears behind a
position already seen. Insert order is apply order for each member (a batch logs its rows at its end,
holding its members' locks), so kiosks replay each member's transactions in head office's order.

Event stores that number at insert time instead read only below the oldest transaction in flight
(``pg_snapshot_xmin(pg_current_snapshot())``); that horizon is the whole server's, so any long or
stuck write transaction (another database's included) stops the feed, and numbering by transaction
id could put a member's later transaction first. Numbering after commit needs neither.

SQLite has one writer: its rows get their positions in the transaction that writes them.
"""
from __future__ import annotations

from kiosk.ledger.core import write_transaction

from . import feedscope

FEEDLOG_DDL = """
CREATE TABLE hq_feed (hq_id INTEGER PRIMARY KEY AUTOINCREMENT, tx_id TEXT NOT NULL UNIQUE, hq_seq INTEGER UNIQUE);
INSERT INTO hq_feed (tx_id, hq_seq) SELECT tx_id, hq_seq FROM hq_log ORDER BY hq_seq;
DROP TABLE hq_log;
ALTER TABLE hq_feed RENAME TO hq_log;
CREATE INDEX hq_log_unsequenced ON hq_log (hq_id) WHERE hq_seq IS NULL;
"""
SEQUENCER = 7_316_002       # advisory lock of the one sequencer at a time

_NUMBER = ("UPDATE hq_log SET hq_seq = n.position FROM (SELECT hq_id, (SELECT COALESCE(MAX(hq_seq), 0) FROM hq_log)"
           " + ROW_NUMBER() OVER (ORDER BY hq_id) AS position FROM hq_log WHERE hq_seq IS NULL) AS n"
           " WHERE hq_log.hq_id = n.hq_id")


def append(db, tx_ids: list[str]) -> None:
    """Log applied transactions in apply order (inside the transaction that applied them): one statement,
    sent with a batch's last (:meth:`Db.later`)."""
    if not tx_ids:
        return
    db.later(f"INSERT INTO hq_log (tx_id) VALUES {', '.join(['(?)'] * len(tx_ids))}", tx_ids)
    if db.dialect == "sqlite":
        _number(db.conn, db.dialect)
    else:
        db.unsequenced = True


def _number(conn, dialect: str) -> None:
    """Number the rows without a position and record the stores each belongs to (:func:`feedscope.index`),
    in the caller's transaction."""
    (before,) = conn.execute("SELECT COALESCE(MAX(hq_seq), 0) FROM hq_log").fetchone()
    conn.execute(_NUMBER)
    feedscope.index(conn.execute, dialect, before)


def sequence(db) -> None:
    """Give positions to the committed rows that have none (PostgreSQL; outside a transaction). Runs
    after each commit that logged rows (not a hub's: ``Db.sequence_on_commit``) and in each hub's loop,
    before it publishes the feed heads."""
    if db.dialect != "postgresql":
        return
    conn = db.conn
    (mine,) = conn.execute(f"SELECT pg_try_advisory_lock({SEQUENCER})").fetchone()
    if not mine:
        return
    try:
        # its own transaction, begun after the lock: its statements see every row committed before it
        with write_transaction(conn, ["BEGIN"]):
            _number(conn, db.dialect)
    finally:
        conn.execute(f"SELECT pg_advisory_unlock({SEQUENCER})")


def bulk(conn, tx_ids: list[str]) -> None:
    """Log a generated chain's transactions (SQLite, one writer): positions in the order given."""
    conn.executemany("INSERT INTO hq_log (tx_id) VALUES (?)", [(t,) for t in tx_ids])
    _number(conn, "sqlite")
