"""A batch's members copied into memory: their reads and writes without a round trip each.

Ingest applies a batch under advisory locks on every member it touches (ingest.py, ``_lock_members``),
so no other writer changes those members' rows until it commits: a copy of them taken after the locks
is as good as the database for the batch. The copy is an in-memory SQLite database with the ledger's
own tables, filled with ONE statement: the members' rows of :data:`TABLES` (of some tables only the
live ones, and the dated ones from a horizon before the batch's first record: keyed.LIVE and DATED).
It serves the statements ``kiosk/ledger/keyed.py`` names when their key is one of the batch's members
(a dated table's from within the horizon) or a row the copy holds. What it changed (new rows, changed
rows) is written back before any other statement that names a copied table, and when the batch ends,
together with the batch's held rows in one statement (``db.PgConnection.holding``). A statement it does
not serve that writes a copied table, or a savepoint, ends the copy (written back first): from then on
the database answers everything. A row the database refuses at write-back (a card id another member
holds) raises, and ingest runs the batch again the slow way, one savepoint a record, where the refusal
lands on the record that caused it.
"""
from __future__ import annotations

import logging
import re
import sqlite3
from datetime import timedelta

from kiosk.ledger import schema as ledger_schema
from kiosk.ledger.dates import from_utc_text, to_utc_text
from kiosk.ledger.keyed import DATED, KEYED, LIVE, Key

log = logging.getLogger("sync.hq.batchcopy")

# the copied tables (their primary keys are the ledger schema's); each has a member_id column naming whose row it is
TABLES = ("members", "cards", "member_keys", "lots", "coupons", "packages", "qualifying", "checkins", "sv_spends")
# how far back a dated table is copied: a year's tier window (a longer one is read from the database)
HORIZON = timedelta(days=370)
_NAMES = re.compile(r"\b(" + "|".join(TABLES) + r")\b")
_WRITES = re.compile(r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)
_TRANSACTION_CONTROL = ("SAVEPOINT", "ROLLBACK", "RELEASE", "COMMIT", "BEGIN")
ROWS_A_STATEMENT = 500     # PostgreSQL takes 65,535 parameters a statement


class BatchCopy:
    """The copy for one PostgreSQL connection, reused batch after batch (by one hub thread at a time)."""

    def __init__(self):
        self.pg = None          # the batch's psycopg connection (``$n`` placeholders)
        self.active = False
        self.members: set[str] = set()
        self.since: dict[str, str] = {}        # a dated table's horizon, as its column holds it
        self.copy = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        ledger_schema.create(self.copy)
        info = {t: self.copy.execute(f"PRAGMA table_info({t})").fetchall() for t in TABLES}
        self.columns = {t: [r[1] for r in rows] for t, rows in info.items()}
        self.keys = {t: tuple(r[1] for r in sorted((r for r in rows if r[5]), key=lambda r: r[5]))
                     for t, rows in info.items()}
        self.loaded: dict[str, dict[tuple, tuple]] = {}
        self.usable: bool | None = None         # the database's tables match the copy's (checked once)

    def _same_columns(self) -> bool:
        """The database's tables have the copy's columns in the same order (``m.*`` reads them by place)."""
        for table, columns in self.columns.items():
            found = [d[0] for d in self.pg.execute(f"SELECT * FROM {table} LIMIT 0").description]
            if found != columns:
                log.warning("no batch copy: the database's %s has columns %s, the ledger's %s", table, found, columns)
                return False
        return True

    def start(self, pg, members: set[str], first: str) -> None:
        """Copy ``members``' rows (they are locked by the caller's transaction on ``pg``); ``first``: the
        moment (UTC text) of the batch's first record."""
        self.pg = pg
        if self.usable is None:
            self.usable = self._same_columns()
        if not self.usable or not members:
            return
        try:
            horizon = from_utc_text(first) - HORIZON
        except (TypeError, ValueError):
            return
        self.members = set(members)
        day = (horizon.date() - timedelta(days=1)).isoformat()      # a store's day may be the UTC day before
        self.since = {t: day if column == "day" else to_utc_text(horizon) for t, column in DATED.items()}
        found = self.pg.execute(f"SELECT {', '.join(map(self._rows_of, TABLES))}",
                                (sorted(members), *self.since.values())).fetchone()
        for (table, columns), rows in zip(self.columns.items(), found):
            self.copy.execute(f"DELETE FROM {table}")
            self.copy.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(columns))})", rows)
        self.loaded = {table: self._rows(table) for table in TABLES}
        self.active = True

    def _rows_of(self, table: str) -> str:
        """SQL: the rows of ``table`` the copy holds, as one JSON array ($1 the members, then DATED's horizons)."""
        where = ["member_id = ANY($1::text[])"]
        if table in LIVE:
            where.append(LIVE[table])
        if table in DATED:
            where.append(f"{DATED[table]} >= ${2 + list(DATED).index(table)}")
        return (f"(SELECT COALESCE(json_agg(json_build_array({', '.join(self.columns[table])})), '[]')"
                f" FROM {table} WHERE {' AND '.join(where)})")

    def serve(self, sql: str, params) -> sqlite3.Cursor | None:
        """The statement run on the copy, or None: the database must run it (first :meth:`before`)."""
        key = KEYED.get(sql)
        if key is None or not self._holds(key, params):
            return None
        return self.copy.execute(sql, params)

    def _holds(self, key: Key, params) -> bool:
        """The copy holds every row the statement can touch, and SQLite answers it as PostgreSQL would: its
        keys (and a dated table's moment) are text and its other values text, whole numbers or NULL (SQLite
        finds card "5" for the number 5, where PostgreSQL refuses to compare them; a float or a boolean is
        stored otherwise)."""
        if not all(p is None or type(p) in (str, int) for p in params):
            return False
        texts = ([key.member] if key.member is not None else [i for _, i in key.row]) + \
            ([key.since] if key.since is not None else [])
        if not all(type(params[i]) is str for i in texts):
            return False
        if key.member is not None:
            return params[key.member] in self.members and (
                key.since is None or params[key.since] >= self.since[key.table])
        where = " AND ".join(f"{column} = ?" for column, _ in key.row)
        return self.copy.execute(f"SELECT 1 FROM {key.table} WHERE {where}",
                                 [params[i] for _, i in key.row]).fetchone() is not None

    def before(self, sql: str) -> list[tuple[str, list]]:
        """A statement the database runs: what it may read of the copied tables must be written back first
        (the statements returned); one that writes them (or a savepoint) ends the copy."""
        writes = _WRITES.match(sql)
        ends = sql.lstrip().upper().startswith(_TRANSACTION_CONTROL) or bool(writes and writes.group(1) in TABLES)
        statements = self.write_back() if ends or _NAMES.search(sql) else []
        if ends:
            self.end()
        return statements

    def write_back(self) -> list[tuple[str, list]]:
        """What the copy changed since it was loaded (or last written back), as statements to send."""
        statements = []
        for table, key in self.keys.items():
            now, then = self._rows(table), self.loaded[table]
            if now == then:
                continue
            columns = self.columns[table]
            new = [row for pk, row in now.items() if pk not in then]
            changed = [row for pk, row in now.items() if pk in then and then[pk] != row]
            gone = [pk for pk in then if pk not in now]
            if gone:       # no keyed statement deletes: a bug, and the slow path is the safe one
                raise RuntimeError(f"the batch copy lost rows of {table}: {gone[:3]}")
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in key)
            statements += _inserts(table, columns, new, "")
            statements += _inserts(table, columns, changed, f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {updates}")
            self.loaded[table] = now
        return statements

    def end(self) -> None:
        self.active, self.members, self.since, self.loaded = False, set(), {}, {}

    def _rows(self, table: str) -> dict[tuple, tuple]:
        key = [self.columns[table].index(c) for c in self.keys[table]]
        return {tuple(row[i] for i in key): row for row in self.copy.execute(f"SELECT * FROM {table}")}


def _inserts(table: str, columns: list[str], rows: list[tuple], tail: str) -> list[tuple[str, list]]:
    """``rows`` as multi-row INSERTs into ``table`` (``$n`` placeholders) ending in ``tail``."""
    width, statements = len(columns), []
    for i in range(0, len(rows), ROWS_A_STATEMENT):
        chunk = rows[i:i + ROWS_A_STATEMENT]
        marks = ", ".join("(" + ", ".join(f"${n * width + c + 1}" for c in range(width)) + ")"
                          for n in range(len(chunk)))
        statements.append((f"INSERT INTO {table} ({', '.join(columns)}) VALUES {marks}{tail}",
                           [v for row in chunk for v in row]))
    return statements
