"""Head office's database upgrades in place from the first release, on SQLite and PostgreSQL,
and refuses a database from a newer release."""
import json
import sqlite3

import pytest

from kiosk.ledger import schema
from kiosk.ledger.migrations import SchemaTooNew
from sync.hq.db import HUB_DDL, HUB_MIGRATIONS, Db, pg_ddl

RELEASE_1_DDL = schema.JOURNAL + schema.PROJECTION_DDL + HUB_DDL     # what release 1 created, unversioned
SOURCE = "INSERT INTO hq_sources (source_id, store_id, channel, hwm, last_seen) VALUES ('k1', 's1', 'kiosk', 7, 'x')"


def versions(db: Db) -> dict:
    return dict(db.conn.execute("SELECT key, value FROM meta WHERE key LIKE 'schema_version:%'").fetchall())


def test_a_first_release_sqlite_hub_database_upgrades_in_place(tmp_path):
    path = tmp_path / "hq.db"
    with sqlite3.connect(path) as old:
        old.executescript(RELEASE_1_DDL + SOURCE + ";")
    db = Db(f"sqlite:///{path}")
    assert db.conn.execute("PRAGMA user_version").fetchone()[0] == schema.SCHEMA_VERSION
    assert versions(db) == {"schema_version:hub": str(HUB_MIGRATIONS[-1].version)}
    assert db.conn.execute("SELECT hwm FROM hq_sources WHERE source_id = 'k1'").fetchone() == (7,)
    db.close()
    Db(f"sqlite:///{path}").close()                 # a second start changes nothing


def test_a_newer_hub_database_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    db = Db(url)
    with db.transaction():
        db.conn.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version:hub'")
    db.close()
    with pytest.raises(SchemaTooNew, match="hub tables"):
        Db(url)


def test_a_first_release_postgresql_hub_database_upgrades_in_place(pg_url):
    import psycopg
    with psycopg.connect(pg_url, autocommit=True) as old:
        old.execute(pg_ddl(RELEASE_1_DDL))
        old.execute(SOURCE)
    db = Db(pg_url)
    assert versions(db) == {"schema_version:ledger": str(schema.SCHEMA_VERSION),
                            "schema_version:hub": str(HUB_MIGRATIONS[-1].version)}
    assert db.conn.execute("SELECT hwm FROM hq_sources WHERE source_id = 'k1'").fetchone() == (7,)
    db.close()


def test_kiosk_hq_migrate_brings_a_new_database_to_this_release_and_says_to_which(tmp_path, capsys):
    from sync.hq import cli
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    assert cli.main(["migrate", "--db", url]) == 0
    assert json.loads(capsys.readouterr().out) == {"ledger": schema.SCHEMA_VERSION, "hub": HUB_MIGRATIONS[-1].version}
    assert cli.main(["migrate", "--db", url]) == 0                   # again: nothing to do, same answer
    assert json.loads(capsys.readouterr().out) == {"ledger": schema.SCHEMA_VERSION, "hub": HUB_MIGRATIONS[-1].version}


def test_kiosk_hq_version_names_the_release(capsys):
    from sync.hq import cli
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("kiosk-hq ")
