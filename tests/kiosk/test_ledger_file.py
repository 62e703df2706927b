"""Only `kioskctl init` makes a ledger; a ledger knows whose it is (kiosk and store ids)."""
import json
import os
import sqlite3
import subprocess
import sys

import pytest

from kiosk import config
from kiosk.ledger import Ledger, LedgerError

AT = "2026-11-20T10:00"


def kioskctl(*args, env=None):
    env = {k: v for k, v in os.environ.items() if k not in config.ENVIRONMENT} | (env or {})
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True, text=True, env=env)


def other_apps_file(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("make", [other_apps_file, lambda p: (p.write_bytes(b""), p)[1]], ids=["sqlite", "empty"])
def test_commands_refuse_a_file_that_is_not_a_ledger_and_leave_it_unchanged(tmp_path, make):
    path = make(tmp_path / "other.db")
    before = path.read_bytes()
    for args in (("show", "--card", "X"), ("tx", "checkin", "--card", "X", "--at", AT), ("verify",)):
        proc = kioskctl("--db", str(path), *args, "--json")
        assert proc.returncode == 2, proc
        assert len(proc.stderr.strip().splitlines()) == 1 and "not a kiosk ledger" in proc.stderr
        assert json.loads(proc.stdout)["code"] == "not_a_ledger"
    with pytest.raises(LedgerError, match="not a kiosk ledger"):
        Ledger(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


def test_init_refuses_another_apps_file(tmp_path):
    path = other_apps_file(tmp_path / "other.db")
    before = path.read_bytes()
    proc = kioskctl("--db", str(path), "init")
    assert proc.returncode == 2 and "not a kiosk ledger" in proc.stderr
    assert path.read_bytes() == before


def test_failed_init_leaves_no_file(tmp_path):
    rules = tmp_path / "rules.toml"
    rules.write_text("[points]\nbogus = 1\n")
    proc = kioskctl("--db", str(tmp_path / "l.db"), "init", "--rules", str(rules))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rules.toml"]


def test_a_ledger_knows_its_kiosk_and_refuses_other_configured_ids(tmp_path):
    db = str(tmp_path / "l.db")
    assert kioskctl("--db", db, "init", env={"KIOSK_ID": "k9", "KIOSK_STORE_ID": "s9"}).returncode == 0
    proc = kioskctl("--db", db, "show", "--card", "X", env={"KIOSK_ID": "k1"})
    assert proc.returncode == 2 and "k9" in proc.stderr and "k1" in proc.stderr
    proc = kioskctl("--db", db, "--json", "member", "add", "--name", "A", "--phone", "13800138000", "--card", "C1",
                    "--at", AT)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(kioskctl("--db", db, "--json", "journal").stdout)["journal"][-1]["kiosk_id"] == "k9"
    with pytest.raises(LedgerError, match="k9"):
        Ledger(db, kiosk_id="k1")
    with Ledger(db) as led:
        assert (led.kiosk_id, led.store_id) == ("k9", "s9")


def test_the_demo_ledger_works_with_kioskctl(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kiosk.demo", "--var", str(tmp_path), "--ledger-only"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    db = str(tmp_path / "demo-ledger.db")
    proc = kioskctl("--db", db, "--json", "tx", "checkin", "--card", "DEMO-0003", "--at", AT)
    assert proc.returncode == 0, proc.stderr
    assert kioskctl("--db", db, "verify").returncode == 0
