"""Numbered schema migrations, run in order inside one write transaction.

A kiosk's ledger file keeps its schema version in ``PRAGMA user_version``; head office (SQLite or
PostgreSQL) keeps one version per component in the ``meta`` table. Opening a file made by a newer
release is refused (the older code would misread it); opening an older one upgrades it before
anything else reads it. A migration is SQLite DDL (head office translates it for PostgreSQL),
optionally followed by a Python step that fills in what DDL cannot compute.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Callable, Sequence

from .errors import LedgerError


Execute = Callable[..., object]        # (sql, params=()) -> cursor, on SQLite or PostgreSQL


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str
    step: Callable[[Execute], None] | None = None


class SchemaTooNew(LedgerError):
    def __init__(self, what: str, found: int, known: int):
        super().__init__(f"{what} has schema version {found}, newer than this release understands ({known}):"
                         " install the newer release (never open it with an older one)", "schema_too_new")


def latest(migrations: Sequence[Migration]) -> int:
    return migrations[-1].version if migrations else 0


def check_order(migrations: Sequence[Migration]) -> None:
    """Versions are 1, 2, 3... with no gap: a missing step would silently skip a change."""
    numbers = [m.version for m in migrations]
    if numbers != list(range(1, len(numbers) + 1)):
        raise AssertionError(f"migrations must be numbered 1..n in order, got {numbers}")


def statements(sql: str) -> list[str]:
    """One DDL script as single statements (``execute`` runs one at a time inside our transaction;
    ``executescript`` would commit first)."""
    out, current = [], ""
    for line in sql.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                out.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete SQL statement: {current.strip()[:80]}")
    return out


def upgrade(what: str, migrations: Sequence[Migration], read_version: Callable[[], int],
            write_version: Callable[[int], None], execute: Execute) -> list[int]:
    """Run the migrations newer than the stored version; the caller holds the write transaction.

    Returns the versions applied. Raises :class:`SchemaTooNew` for a store from a newer release.
    """
    check_order(migrations)
    found, known = read_version(), latest(migrations)
    if found > known:
        raise SchemaTooNew(what, found, known)
    applied = []
    for migration in migrations:
        if migration.version > found:
            for statement in statements(migration.sql):
                execute(statement)
            if migration.step is not None:
                migration.step(execute)
            applied.append(migration.version)
    if applied:
        write_version(known)
    return applied
