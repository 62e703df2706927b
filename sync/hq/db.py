"""Head office's database: SQLite by default, PostgreSQL for a chain, behind one tiny interface.

The ledger's apply code only calls ``conn.execute(sql, params).fetchone()/fetchall()`` with
``?`` placeholders and portable SQL, so a wrapper that numbers them (``$1``, ``$2``, ...) lets the very
same rules/apply code run on PostgreSQL.

Locking (docs/sync.md, "Ingest and locking"). SQLite has one writer (``BEGIN IMMEDIATE``). On
PostgreSQL a write transaction names what it will read-then-write (``source:k1``, ``member:…``,
``stock:s1``, ``printed:V20:7``, ``version:blocklist``): each name is a transaction-scoped advisory
lock, taken in sorted order in one statement, so hubs ingesting different sources and members
commit at the same time and two batches cannot deadlock on them. A transaction that names nothing
(an administrator's command, a migration) takes the whole ledger: the exclusive side of a
reader/writer lock whose shared side every named transaction holds.
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import sqlite3
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, TypeVar
from urllib.parse import urlsplit

from kiosk.ledger import pii, schema as ledger_schema
from kiosk.ledger.core import connect as sqlite_connect, create_private, write_transaction
from kiosk.ledger.migrations import Migration, upgrade

from . import feedlog, feedscope
from .batchcopy import BatchCopy
from .feedscope import FEED_SCOPE_DDL
from .holds import HOLDS_DDL
from .opsdb import NOTIFY_CLAIMS_DDL, OPS_DDL
from .sources import ENROLMENT_DDL
from .rederive import REDERIVE_DDL, keep_legacy_sources
from .rulebook import RULEBOOK_DDL, backfill as backfill_rulebook

HUB_DDL = """
CREATE TABLE IF NOT EXISTS hq_sources (
    source_id TEXT PRIMARY KEY, store_id TEXT NOT NULL, channel TEXT NOT NULL,
    hwm INTEGER NOT NULL DEFAULT 0, last_seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hq_log (hq_seq INTEGER PRIMARY KEY AUTOINCREMENT, tx_id TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS hq_parked (
    source_id TEXT NOT NULL, seq INTEGER NOT NULL, record TEXT NOT NULL, PRIMARY KEY (source_id, seq));
CREATE TABLE IF NOT EXISTS hq_corrections (
    tx_id TEXT PRIMARY KEY, source_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL,
    detail TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS hq_corrections_source ON hq_corrections (source_id, seq);
CREATE TABLE IF NOT EXISTS hq_alerts (
    alert_id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, kind TEXT NOT NULL, source_id TEXT,
    tx_id TEXT, member_id TEXT, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hq_versions (name TEXT PRIMARY KEY, version INTEGER NOT NULL, body TEXT NOT NULL);
"""
# Append a Migration for every change to the hub's own tables; never edit one that has shipped.
HUB_MIGRATIONS = (
    Migration(1, "baseline: sources, feed log, parked records, corrections, alerts, versions", HUB_DDL),
    Migration(2, "each source's hash-chain tip; a source is held after a chain break until released",
              "ALTER TABLE hq_sources ADD COLUMN tip TEXT;\n"
              "ALTER TABLE hq_sources ADD COLUMN sealed INTEGER NOT NULL DEFAULT 0;\n"
              "ALTER TABLE hq_sources ADD COLUMN held TEXT;"),
    Migration(3, "operations: journal by time, holds, notifications, done-once, staff disabled", OPS_DDL),
    Migration(4, "enrolled sources: records and questions only from sources head office enrolled",
              ENROLMENT_DDL),
    Migration(5, "each notification attempt claimed before it is sent (sent once)", NOTIFY_CLAIMS_DDL),
    Migration(6, "re-derived effects: every published rules version by hash; records rejected with the reason",
              RULEBOOK_DDL + REDERIVE_DDL, lambda execute: _verification_step(execute)),
    Migration(7, "spend holds: what head office approved online until the transaction arrives", HOLDS_DDL),
    Migration(8, "feed scope: the members each store looked up (hq_store_members); indexes to find a"
                 " member's home store and a record's other members", FEED_SCOPE_DDL),
    Migration(9, "the feed's position is given after commit (hubs commit concurrently); hq_log keeps the"
                 " insert order", feedlog.FEEDLOG_DDL),
    Migration(10, "the stores each feed row belongs in (hq_store_log), recorded when it is numbered: a page"
                  " of a store's feed reads only that store's rows", feedscope.STORE_LOG_DDL,
              lambda execute: feedscope.index(execute, execute.dialect, 0)),
)


def _verification_step(execute) -> None:
    """Migration 4's data: the rules already published, the sources that may still send records without inputs."""
    backfill_rulebook(execute)
    keep_legacy_sources(execute)


log = logging.getLogger("sync.hq.db")
WHOLE_LEDGER = 7_316_001    # advisory lock: shared by every named transaction, exclusive for the rest
RETRIES = 5                 # attempts of a transaction that lost a deadlock or a unique-key race
T = TypeVar("T")


# one advisory lock per id of the array, in the array's (sorted) order
_LOCK_EACH = "(SELECT COUNT(pg_advisory_xact_lock(k)) FROM unnest(?::bigint[]) AS k)"


def lock_id(name: str) -> int:
    """The 64-bit advisory lock id of a name (a collision only makes two names wait for each other)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def _ids(names: Iterable[str]) -> list[int]:
    return sorted({lock_id(n) for n in names})


class Db:
    """A connection plus how this dialect begins a write transaction and locks what it touches."""

    def __init__(self, url: str, key_file: str | Path | None = None):
        """``key_file``: the chain's personal-data key (default ``$KIOSK_HQ_KEY``, or beside a SQLite
        file); read when personal data is first touched, made with a new key when missing."""
        self.url = url
        parts = urlsplit(url)
        self._key_file, self._keyring = key_file or os.environ.get("KIOSK_HQ_KEY"), None
        self.unsequenced = False        # feed rows written by the open transaction wait for a position
        # a hub turns this off: its loop numbers them every second, before it publishes the feed heads
        self.sequence_on_commit = True
        if parts.scheme == "sqlite":
            self.dialect = "sqlite"
            self.path = parts.path if url.startswith("sqlite:///") else parts.netloc + parts.path
            self._key_file = self._key_file or pii.key_file_for(self.path)
            if self.path not in ("", ":memory:"):
                create_private(self.path)
            self.conn = sqlite_connect(self.path)
            self.fatal = (sqlite3.OperationalError,)
            self.retryable = ()
        elif parts.scheme in ("postgresql", "postgres"):
            import psycopg
            self.dialect = "postgresql"
            # raw queries ($1, $2, ...; PgConnection translates ``?`` once per text): psycopg would parse every
            # statement of more than 50 parameters (a batch's held rows, its IN lists) again at each execute
            self.conn = PgConnection(psycopg.connect(url, autocommit=True, cursor_factory=psycopg.RawCursor))
            # A deadlock or serialisation failure (OperationalErrors, so they pass every savepoint's
            # handler as fatal ones do) and a unique-key race lost to another hub: :meth:`retrying`.
            self.fatal = (psycopg.OperationalError, psycopg.InterfaceError)
            self.retryable = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure,
                              psycopg.errors.UniqueViolation)
        else:
            raise ValueError(f"--db {url!r} must be sqlite:///path or postgresql://...")
        self.migrate()

    def migrate(self) -> None:
        """Bring the ledger's and the hub's tables to this release (under the whole-ledger lock, so
        hubs starting together migrate once). SQLite keeps the ledger's version in ``user_version`` as a
        kiosk file does; the hub's (and on PostgreSQL both) live in ``meta``."""
        with self.transaction():
            self.conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            if self.dialect == "sqlite":
                ledger_schema.create(self.conn)
            else:
                self._upgrade("ledger", ledger_schema.MIGRATIONS)
            self._upgrade("hub", HUB_MIGRATIONS)

    def schema_versions(self) -> dict[str, int]:
        """The ledger's and the hub's table versions, as ``migrate`` left them (``kiosk-hq migrate``)."""
        rows = dict(self.conn.execute("SELECT key, value FROM meta WHERE key LIKE 'schema_version:%'").fetchall())
        found = {key.removeprefix("schema_version:"): int(value) for key, value in rows.items()}
        if self.dialect == "sqlite":
            found["ledger"] = self.conn.execute("PRAGMA user_version").fetchone()[0]
        return found

    def _upgrade(self, component: str, migrations) -> None:
        key = f"schema_version:{component}"

        def read() -> int:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            return int(row[0]) if row else 0

        def write(version: int) -> None:
            self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key)"
                              " DO UPDATE SET value = excluded.value", (key, str(version)))
        def execute(sql: str, params=()):
            return self.conn.execute(sql if self.dialect == "sqlite" else pg_ddl(sql), params)
        execute.dialect = self.dialect      # for a data step whose SQL differs (feedscope.index)
        upgrade(f"head office's database ({component} tables)", migrations, read, write, execute)

    @contextmanager
    def transaction(self, names: Iterable[str] | None = None):
        """One write transaction. ``names``: what it will read-then-write, locked up front (in sorted
        order); None: the whole ledger. On PostgreSQL the feed rows it wrote get their positions once
        it has committed (:func:`feedlog.sequence`), unless ``sequence_on_commit`` is off."""
        if self.dialect == "sqlite":
            with write_transaction(self.conn):
                yield self.conn
            return
        self.unsequenced = False
        begin = ["BEGIN"] if names is not None else ["BEGIN", f"SELECT pg_advisory_xact_lock({WHOLE_LEDGER})"]
        with write_transaction(self.conn, begin):
            if names is not None:
                self.conn.execute(f"SELECT pg_advisory_xact_lock_shared({WHOLE_LEDGER}), {_LOCK_EACH}", (_ids(names),))
            yield self.conn
        if self.unsequenced and self.sequence_on_commit:
            feedlog.sequence(self)

    def held(self, tables: dict[str, tuple[str, ...]], members: set[str] = frozenset(), first: str = ""):
        """A block in which the rows inserted into ``tables`` go to PostgreSQL together and ``members``
        (locked by the open transaction) are read and written in a copy (:meth:`PgConnection.holding`;
        ``first``: the moment of the batch's first record). SQLite has no round trips to save: everything
        is sent as it comes."""
        return self.conn.holding(tables, members, first) if self.dialect == "postgresql" else nullcontext()

    def later(self, sql: str, params=()) -> None:
        """A write nobody reads the result of: inside :meth:`held` on PostgreSQL it goes with the block's
        last statement (or before a statement naming its table); otherwise now."""
        if self.dialect == "postgresql":
            self.conn.later(sql, params)
        else:
            self.conn.execute(sql, params)

    def lock(self, names: Iterable[str]) -> None:
        """Lock more names inside a named transaction (after its own: a deadlock is then possible and
        is retried, see :meth:`retrying`). SQLite has one writer: nothing to do."""
        ids = _ids(names)
        if self.dialect == "postgresql" and ids:
            self.conn.execute(f"SELECT {_LOCK_EACH}", (ids,))

    def retrying(self, work: Callable[[], T]) -> T:
        """``work()`` (which runs one transaction), again when it lost a deadlock, a serialisation or a
        unique-key race to another hub; after :data:`RETRIES` attempts the error goes up as before."""
        for attempt in range(1, RETRIES):
            try:
                return work()
            except self.retryable as exc:
                log.info("transaction attempt %d lost a race with another writer (%s): again", attempt,
                         type(exc).__name__)
        return work()

    @property
    def key_file(self) -> str | Path | None:
        """Where the chain's personal-data key lives (None: not configured)."""
        return self._key_file

    @property
    def keyring(self) -> pii.Keyring:
        """Head office's keys for personal data (the chain key's file; refused if it is not this database's)."""
        if self._keyring is None:
            if not self._key_file:
                raise pii.PiiKeyError("head office needs its personal-data key file: --key-file or $KIOSK_HQ_KEY")
            keyring = pii.Keyring(pii.load_or_make(self._key_file))
            pii.check_key(self.conn, keyring, "head office's database")
            pii.index_plain_members(self.conn, keyring, "CN")
            self._keyring = keyring
        return self._keyring

    def close(self) -> None:
        self.conn.close()


def pg_ddl(sqlite_ddl: str) -> str:
    """The same tables for PostgreSQL: 64-bit integers, serials, no SQLite-only table options."""
    return (sqlite_ddl.replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGSERIAL PRIMARY KEY")
            .replace("INTEGER", "BIGINT").replace(") WITHOUT ROWID;", ");").replace(") STRICT;", ");"))


HELD_ROWS = 500        # rows of a held INSERT sent in one statement
PARAMETERS = 65_535    # in one statement, at most


@dataclass
class _Held:
    insert: str                 # a one-row INSERT ... VALUES (?, ...)
    names: tuple[str, ...]      # statements naming any of these are sent after the held rows
    rows: list = field(default_factory=list)


_PLACEHOLDER = re.compile(r"\?")
_NUMBERED = re.compile(r"\$(\d+)")
_ONE_ROW_INSERT = re.compile(r"INSERT INTO (\w+) \([^()]*\) VALUES \([^()]*\)")
_WRITTEN = re.compile(r"(?:INSERT INTO|UPDATE) (\w+)")


class PgConnection:
    """Just enough of sqlite3.Connection for the ledger's apply code: ``?`` -> ``$1``, ``$2``, ... (the
    connection's cursors are raw: psycopg sends the text as it is)."""
    dialect = "postgresql"      # for the few queries that differ (sqlite3.Connection has no such attribute)

    def __init__(self, pg):
        self.pg = pg
        self._sql: dict[str, str] = {}
        self._tables: dict[str, tuple[str, ...]] | None = None     # held: table -> what names it
        self._held: dict[str, _Held] = {}                          # by the INSERT's text
        self._copy: BatchCopy | None = None                        # a batch's members (:mod:`.batchcopy`)
        self._later: list[tuple[str, str, list]] = []              # (table, statement, parameters): :meth:`later`

    def execute(self, sql: str, params=()):
        if self._copy is not None and self._copy.active:
            served = self._copy.serve(sql, params)
            if served is not None:
                return served
            self._send_together(self._copy.before(sql))
        if self._tables is not None:
            held = self._held.get(sql) or self._hold(sql)
            if held is not None:
                held.rows.append(params)
                return None
            for held in self._held.values():
                if held.rows and any(name in sql for name in held.names):
                    self._send_together(self._statements(held))
            if any(table in sql for table, _, _ in self._later):
                self._send_together(self._written_later())
        return self.pg.execute(self._translated(sql), params)

    def later(self, sql: str, params=()) -> None:
        """:meth:`Db.later`: kept until the holding block ends, or a statement names the table it writes."""
        if self._tables is None:
            self.pg.execute(self._translated(sql), params)
        else:
            self._later.append((_WRITTEN.match(sql).group(1), self._translated(sql), list(params)))

    def _written_later(self) -> list[tuple[str, list]]:
        statements, self._later = [(sql, params) for _, sql, params in self._later], []
        return statements

    def _hold(self, sql: str) -> _Held | None:
        """A held table's one-row INSERT (no ON CONFLICT, no RETURNING: nobody reads its result) is held."""
        match = _ONE_ROW_INSERT.fullmatch(sql)
        names = self._tables.get(match.group(1)) if match else None
        if names is None:
            return None
        held = self._held[sql] = _Held(sql, names)
        return held

    def _translated(self, sql: str) -> str:
        translated = self._sql.get(sql)
        if translated is None:
            numbers = itertools.count(1)
            translated = self._sql[sql] = _PLACEHOLDER.sub(lambda _: f"${next(numbers)}", sql)
        return translated

    @contextmanager
    def holding(self, tables: dict[str, tuple[str, ...]], members: set[str] = frozenset(), first: str = ""):
        """Hold the rows of one-row INSERTs into ``tables`` and send each INSERT's rows as one multi-row
        statement before the next statement that names any of ``tables[table]`` (the table and what
        refers to it); serve the keyed statements of ``members`` (locked by the open transaction) from a
        copy in memory (:mod:`.batchcopy`; ``first``: the moment of the batch's first record). When the
        block ends, the held rows, what the copy changed and the writes sent :meth:`later` go in one
        statement; dropped when it raises."""
        self._tables, self._held = tables, {}
        if members:
            self._copy = self._copy or BatchCopy()
            self._copy.start(self.pg, members, first)
        try:
            yield
            copied = self._copy.write_back() if self._copy is not None and self._copy.active else []
            self._send_together(copied + [s for held in self._held.values() for s in self._statements(held)]
                                + self._written_later())
        finally:
            self._tables, self._held, self._later = None, {}, []
            if self._copy is not None:
                self._copy.end()

    def _statements(self, held: _Held) -> list[tuple[str, list]]:
        """The held rows as multi-row INSERTs (``$n`` placeholders); forgotten here."""
        rows, held.rows = held.rows, []
        head, one = held.insert.split(" VALUES ")
        return [(self._translated(f"{head} VALUES {', '.join([one] * len(chunk))}"),
                 [value for row in chunk for value in row])
                for chunk in (rows[i:i + HELD_ROWS] for i in range(0, len(rows), HELD_ROWS))]

    def _send_together(self, statements: list[tuple[str, list]]) -> None:
        """Writes nobody reads the result of (``$n`` placeholders), in as few statements as the parameter
        limit allows: several become one ``WITH w0 AS (...), w1 AS (...) SELECT 1``, in which each runs
        once. None of them sees the others' rows, and none needs to: they write different rows, and no
        held, copied or later-written table refers to another."""
        group: list[tuple[str, list]] = []
        for sql, params in statements:
            if group and sum(len(p) for _, p in group) + len(params) > PARAMETERS:
                self._send_one(group)
                group = []
            group.append((sql, params))
        if group:
            self._send_one(group)

    def _send_one(self, group: list[tuple[str, list]]) -> None:
        if len(group) == 1:
            self.pg.execute(*group[0])
            return
        parts, values = [], []
        for n, (sql, params) in enumerate(group):
            offset = len(values)
            parts.append(f"w{n} AS ({_NUMBERED.sub(lambda m: f'${int(m.group(1)) + offset}', sql)})")
            values += params
        self.pg.execute(f"WITH {', '.join(parts)} SELECT 1", values)

    def close(self) -> None:
        self.pg.close()
