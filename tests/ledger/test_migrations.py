"""Schema migrations: a ledger file made by the first release upgrades in place and still verifies;
a file from a newer release is refused and left as it was."""
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.ledger import Ledger, lines_from_amount, verify
from kiosk.ledger.migrations import Migration, SchemaTooNew, statements, upgrade
from kiosk.ledger.schema import MIGRATIONS, SCHEMA_VERSION

RELEASE_1 = Path(__file__).with_name("fixtures") / "ledger-release-1.db"   # made by commit 735816c


@pytest.fixture
def old_file(tmp_path) -> Path:
    path = tmp_path / "ledger.db"
    shutil.copyfile(RELEASE_1, path)
    return path


def test_a_first_release_ledger_upgrades_and_keeps_every_balance(old_file):
    assert sqlite3.connect(old_file).execute("PRAGMA user_version").fetchone()[0] == 0
    led = Ledger(old_file, kiosk_id="k1", store_id="s1")
    assert led.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert verify(led.conn) == []
    zhang, li = led.member_view("C1", at="2026-11-06T10:00"), led.member_view("C3", at="2026-11-06T10:00")
    assert (zhang["points"], zhang["tier"]) == (333, "normal")                       # as release 1 showed them
    assert (li["points"], li["principal_fen"], li["bonus_fen"]) == (244, 42727, 4273)
    (last,) = led.conn.execute("SELECT MAX(seq) FROM journal").fetchone()
    done = led.purchase("C1", lines_from_amount(10000), operator="admin", at="2026-11-06T10:00")
    assert done["points_earned"] == 95                                              # normal tier: 5 % off
    assert led.tx_record(done["tx_id"])["seq"] == last + 1 == 13                  # the sequence goes on
    assert verify(led.conn) == []


def test_members_from_before_encryption_are_found_edited_into_ciphertext_and_erasable(old_file):
    led = Ledger(old_file, kiosk_id="k1", store_id="s1")
    assert led.member_view("C1")["name"] == "张三"                   # plain rows still read
    assert led.member_by_phone("138 0013 8000")["card_id"] == "C1"    # and are found by the keyed hash
    led.edit_profile("C1", phone="13700137000", name="张三丰", operator="admin")
    row = led.conn.execute("SELECT name, phone, birthday FROM members WHERE name LIKE 'pii1:%'").fetchone()
    assert row[0].startswith("pii1:") and row[1].startswith("pii1:") and row[2] == "1990-05-17"
    assert led.member_view("C1")["name"] == "张三丰" and led.member_by_phone("13700137000")["card_id"] == "C1"
    led.erase_member("C3", reason="asked", operator="admin")          # never edited: plain until erased
    assert led.conn.execute("SELECT COUNT(*) FROM members WHERE name = 'Li Na'").fetchone()[0] == 0
    assert led.member_view("C3")["erased"] and verify(led.conn) == []


def test_a_file_from_a_newer_release_is_refused_and_left_alone(old_file):
    Ledger(old_file, kiosk_id="k1", store_id="s1").close()
    with sqlite3.connect(old_file) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = old_file.read_bytes()
    with pytest.raises(SchemaTooNew, match="newer than this release"):
        Ledger(old_file, kiosk_id="k1", store_id="s1")
    assert old_file.read_bytes() == before
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--db", str(old_file), "show", "--card", "C1"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "newer than this release" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_migrations_run_in_order_once_and_all_or_nothing(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None)
    version = [0]
    steps = [Migration(1, "a", "CREATE TABLE a (x INTEGER);"),
             Migration(2, "b", "INSERT INTO a VALUES (1);\nCREATE TABLE b (y INTEGER);")]
    run = lambda ms: upgrade("test", ms, lambda: version[0], lambda v: version.__setitem__(0, v), conn.execute)
    assert run(steps) == [1, 2] and version[0] == 2
    assert run(steps) == [] and conn.execute("SELECT COUNT(*) FROM a").fetchone()[0] == 1
    with pytest.raises(AssertionError, match="numbered"):
        run([steps[1]])
    assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))


def test_statements_split_a_script_into_single_statements():
    assert statements("CREATE TABLE a (x TEXT DEFAULT ';');\n\nCREATE INDEX i ON a (x);\n") == \
        ["CREATE TABLE a (x TEXT DEFAULT ';');", "CREATE INDEX i ON a (x);"]
