"""The SQLite schema: the journal and outbox (the truth) and projections (derived from it).

Projection tables are listed in :data:`PROJECTIONS`; :func:`kiosk.ledger.verify.verify` rebuilds
them from the journal and compares. Every change to these tables after the first release is a new
entry in :data:`MIGRATIONS` (see :mod:`kiosk.ledger.migrations`).

A ledger file is marked when ``kioskctl init`` creates it: ``PRAGMA application_id`` (in the file
header, so "is this a ledger?" is decided by reading 100 bytes and changing nothing) plus the
kiosk and store ids in ``meta``. ``PRAGMA user_version`` holds the schema version. A ledger made
by the first release (unmarked) is recognised by its tables and marked when next opened.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from . import journal, pii
from .migrations import Migration, latest, upgrade

APPLICATION_ID = 0x4B4C4447        # "KLDG": a store-kiosk ledger
DEFAULT_KIOSK_ID, DEFAULT_STORE_ID = "kiosk-01", "store-01"
_SQLITE_MAGIC = b"SQLite format 3\x00"

JOURNAL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    tx_id TEXT PRIMARY KEY,
    kiosk_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    operator TEXT NOT NULL,
    member_id TEXT,
    ref_tx TEXT,
    reason TEXT NOT NULL DEFAULT '',
    record TEXT NOT NULL,
    UNIQUE (kiosk_id, seq)
);
CREATE INDEX IF NOT EXISTS journal_member ON journal (member_id, at);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    tx_id TEXT NOT NULL REFERENCES journal (tx_id),
    confirmed_at TEXT
);
CREATE TABLE IF NOT EXISTS staff (
    staff_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    card_id TEXT UNIQUE,
    pin_hash TEXT NOT NULL,
    failed INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT
);
CREATE TABLE IF NOT EXISTS blocklist (card_id TEXT PRIMARY KEY, reason TEXT NOT NULL, since TEXT NOT NULL);
"""

PROJECTION_DDL = """
CREATE TABLE IF NOT EXISTS members (
    member_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    birthday TEXT,
    referrer_id TEXT,
    joined_at TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',
    tier TEXT NOT NULL,
    tier_since TEXT NOT NULL,
    first_purchase_tx TEXT,
    points_debt INTEGER NOT NULL DEFAULT 0,
    principal_fen INTEGER NOT NULL DEFAULT 0,
    bonus_fen INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS members_phone ON members (phone);
CREATE TABLE IF NOT EXISTS cards (
    card_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    status TEXT NOT NULL,
    issued_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cards_member ON cards (member_id);
CREATE TABLE IF NOT EXISTS lots (
    member_id TEXT NOT NULL,
    lot_id TEXT NOT NULL,
    earned_at TEXT NOT NULL,
    expires_on TEXT,
    points INTEGER NOT NULL,
    remaining INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= points),
    PRIMARY KEY (member_id, lot_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS qualifying (
    member_id TEXT NOT NULL,
    at TEXT NOT NULL,
    tx_id TEXT NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (member_id, at, tx_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkins (
    member_id TEXT NOT NULL,
    day TEXT NOT NULL,
    PRIMARY KEY (member_id, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS packages (
    package_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    uses INTEGER NOT NULL,
    remaining INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= uses),
    expires_on TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX IF NOT EXISTS packages_member ON packages (member_id);
CREATE TABLE IF NOT EXISTS coupons (
    coupon_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    code TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    used_tx TEXT
);
CREATE INDEX IF NOT EXISTS coupons_member ON coupons (member_id, code);
CREATE TABLE IF NOT EXISTS stock (
    store_id TEXT NOT NULL,
    sku TEXT NOT NULL,
    stock INTEGER NOT NULL CHECK (stock >= 0),
    PRIMARY KEY (store_id, sku)
);
CREATE TABLE IF NOT EXISTS purchases (
    tx_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    payable_fen INTEGER NOT NULL,
    sv_principal_fen INTEGER NOT NULL,
    sv_bonus_fen INTEGER NOT NULL,
    points_earned INTEGER NOT NULL,
    points_cash INTEGER NOT NULL,
    lot_id TEXT,
    refunded_fen INTEGER NOT NULL DEFAULT 0,
    points_clawed INTEGER NOT NULL DEFAULT 0,
    points_cash_returned INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topups (
    tx_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    principal_fen INTEGER NOT NULL,
    bonus_fen INTEGER NOT NULL,
    at TEXT NOT NULL,
    undone_by TEXT
);
CREATE TABLE IF NOT EXISTS sv_spends (
    tx_id TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sv_spends_member ON sv_spends (member_id, at);
CREATE TABLE IF NOT EXISTS receipt_claims (
    receipt TEXT PRIMARY KEY,
    member_id TEXT NOT NULL,
    tx_id TEXT NOT NULL
);
"""

# Tier benefits given once per period, top-up bonus instalments, points converted or transferred.
SECOND_ROUND_RULES_DDL = """
CREATE TABLE IF NOT EXISTS benefits (
    member_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    period TEXT NOT NULL,
    tx_id TEXT NOT NULL,
    PRIMARY KEY (member_id, kind, period)
);
CREATE TABLE IF NOT EXISTS instalments (
    topup_tx TEXT NOT NULL,
    part INTEGER NOT NULL,
    member_id TEXT NOT NULL,
    due_on TEXT NOT NULL,
    bonus_fen INTEGER NOT NULL,
    points INTEGER NOT NULL,
    coupon TEXT NOT NULL,
    package TEXT NOT NULL,
    status TEXT NOT NULL,
    paid_tx TEXT,
    PRIMARY KEY (topup_tx, part)
);
CREATE INDEX IF NOT EXISTS instalments_member ON instalments (member_id, status, due_on);
CREATE TABLE IF NOT EXISTS point_moves (
    tx_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    from_member TEXT NOT NULL,
    to_member TEXT,
    day TEXT NOT NULL,
    points INTEGER NOT NULL,
    bonus_fen INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS point_moves_from ON point_moves (from_member, kind, day);
CREATE INDEX IF NOT EXISTS point_moves_to ON point_moves (to_member);
"""

PROJECTIONS = ("members", "cards", "lots", "qualifying", "checkins", "packages", "coupons", "stock",
               "purchases", "topups", "sv_spends", "receipt_claims", "coupon_claims", "benefits", "instalments",
               "point_moves")

# Append a Migration for every schema change; never edit one that has shipped.
MIGRATIONS = (
    Migration(1, "baseline: journal, outbox, staff, block list and projections of the first release",
              JOURNAL + PROJECTION_DDL + "DELETE FROM meta WHERE key = 'schema_version';"),
    Migration(2, "hash chain: each journal row keeps its link hash (first-release rows get theirs now)",
              "ALTER TABLE journal ADD COLUMN hash TEXT;", journal.backfill),
    Migration(3, "journal_others (the members a record touches besides its own, e.g. a referrer);"
                 " coupon_claims (printed coupons used, once chain-wide)", """
CREATE TABLE IF NOT EXISTS journal_others (
    member_id TEXT NOT NULL,
    at TEXT NOT NULL,
    tx_id TEXT NOT NULL REFERENCES journal (tx_id),
    PRIMARY KEY (member_id, at, tx_id)
);
CREATE TABLE IF NOT EXISTS coupon_claims (
    campaign TEXT NOT NULL,
    serial INTEGER NOT NULL,
    member_id TEXT NOT NULL,
    tx_id TEXT NOT NULL,
    PRIMARY KEY (campaign, serial)
);
""", journal.index_others),
    Migration(4, "second-round rules: benefits, instalments, point_moves", SECOND_ROUND_RULES_DDL),
    Migration(5, "personal data: member_keys (wrapped data keys, phone look-up hashes); no index on the"
                 " encrypted phone", pii.MEMBER_KEYS_DDL),
)
SCHEMA_VERSION = latest(MIGRATIONS)

def user_version(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def create(conn: sqlite3.Connection) -> list[int]:
    """Create the schema, or upgrade it to this release's version; returns the migrations applied.
    The caller holds the write transaction."""
    return upgrade("this ledger file", MIGRATIONS, lambda: user_version(conn),
                   lambda version: conn.execute(f"PRAGMA user_version = {int(version)}"), conn.execute)


def is_ledger_file(path: str | Path) -> bool:
    """True when ``path`` is a SQLite file marked as a ledger; reads the header only, writes nothing."""
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return False
    return (len(header) == 100 and header[:16] == _SQLITE_MAGIC
            and int.from_bytes(header[68:72], "big") == APPLICATION_ID)


def is_first_release_ledger(path: str | Path) -> bool:
    """An unmarked ledger from the first release: our tables and rules in an unmarked SQLite file.

    Read through an immutable read-only connection, so nothing is written, not even a -shm file.
    """
    try:
        with open(path, "rb") as fh:
            header = fh.read(100)
    except OSError:
        return False
    if len(header) < 100 or header[:16] != _SQLITE_MAGIC or int.from_bytes(header[68:72], "big") != 0:
        return False
    conn = None
    try:
        conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return ({"meta", "journal", "outbox", "members", "cards"} <= tables and conn.execute(
            "SELECT 1 FROM meta WHERE key IN ('rules', 'schema_version')").fetchone() is not None)
    except sqlite3.Error:
        return False
    finally:
        if conn is not None:
            conn.close()


def mark(path: str | Path, kiosk_id: str, store_id: str) -> None:
    """Make ``path`` (new or empty) a ledger of this kiosk: the header mark, the schema, the ids.

    The mark is written in rollback-journal mode, before WAL, so it is in the main file at once.
    """
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        create(conn)
        record_identity(conn, kiosk_id, store_id)
        conn.execute("COMMIT")
    finally:
        conn.close()


def adopt_first_release(conn: sqlite3.Connection, kiosk_id: str | None, store_id: str | None) -> None:
    """Mark a first-release ledger (inside the caller's write transaction). Its ids are those of its
    own journal (the outbox names this kiosk's records); an empty one takes the given ids."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    row = conn.execute("SELECT j.kiosk_id, j.record FROM outbox o JOIN journal j ON j.tx_id = o.tx_id"
                       " ORDER BY o.seq LIMIT 1").fetchone()
    if row is not None:
        kiosk_id, store_id = row[0], json.loads(row[1]).get("store_id") or store_id
    record_identity(conn, kiosk_id or DEFAULT_KIOSK_ID, store_id or DEFAULT_STORE_ID)


def record_identity(conn: sqlite3.Connection, kiosk_id: str, store_id: str) -> None:
    conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                     (("kiosk_id", kiosk_id), ("store_id", store_id)))


def identity(conn: sqlite3.Connection) -> tuple[str, str] | None:
    """The (kiosk id, store id) recorded at ``init``, or None."""
    rows = dict(conn.execute("SELECT key, value FROM meta WHERE key IN ('kiosk_id', 'store_id')"))
    return (rows["kiosk_id"], rows["store_id"]) if len(rows) == 2 else None
