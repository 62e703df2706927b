"""kioskctl operators: the administrator is root (or the admin group); a staff member acts only with
their PIN, which never reaches the command line or a log; every command is checked against the one
permissions table; sign-ins, failures, lockouts and rules replaced are journaled and audited."""
import io
import json
import logging
import os
import re
import subprocess
import sys

import pytest

from kiosk import cli, config
from kiosk.ctl.operator import ACTIONS, is_administrator
from kiosk.ledger import REFERENCE_RULES, Ledger, Refused, permissions
from kiosk.ledger.staff import MAX_FAILURES

PIN_C, PIN_M, NEW_PIN = "4711", "90517", "36284"


def shows(pin: str, text: str) -> bool:
    """The PIN as a word of ``text`` (not by chance inside a transaction id, a hash or ciphertext)."""
    return re.search(rf"(?<![0-9A-Za-z+/]){pin}(?![0-9A-Za-z+/=])", text) is not None


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "k.db"
    with Ledger.create(path) as led:
        led.add_staff("c1", "Cai", "cashier", PIN_C)
        led.add_staff("m1", "Ma", "manager", PIN_M)
        led.register(name="Lin", phone="13800138000", card_id="C1", operator="admin")
    return path


@pytest.fixture
def ctl(db, monkeypatch, capsys):
    """kioskctl in this process (fast): returns (exit status, --json output or stderr)."""
    def run(*args, stdin=""):
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            status = cli.main(["--db", str(db), "--json", *args])
        except SystemExit as exc:        # argparse: a usage error
            status = exc.code
        out = capsys.readouterr()
        return status, json.loads(out.out) if out.out.strip() else out.err
    return run


def kinds(db, *wanted):
    with Ledger(db) as led:
        return [(r["kind"], r["operator"], r["data"].get("staff_id")) for r in led.journal() if r["kind"] in wanted]


def test_a_staff_operator_acts_only_with_their_own_pin(ctl, db):
    status, out = ctl("--operator", "m1", "--pin-stdin", "tx", "adjust", "--card", "C1", "--points", "5000",
                      "--reason", "x", stdin="1111\n")
    assert (status, out["code"]) == (3, "wrong_pin")
    assert kinds(db, "adjust", "staff_sign_in_failed") == [("staff_sign_in_failed", "m1", "m1")]   # committed
    status, out = ctl("--operator", "m1", "--pin-stdin", "tx", "adjust", "--card", "C1", "--points", "5000",
                      "--reason", "x", stdin=f"{PIN_M}\n")
    assert status == 0 and out["points"] == 5000
    assert kinds(db, "adjust", "staff_sign_in")[-2:] == [("staff_sign_in", "m1", "m1"), ("adjust", "m1", None)]
    status, out = ctl("--operator", "m1", "tx", "adjust", "--card", "C1", "--points", "5", "--reason", "x")
    assert status == 2 and "--pin-stdin" in out["error"]            # no terminal, no --pin-stdin: nothing run
    status, out = ctl("--operator", "m1", "--pin", PIN_M, "show", "--card", "C1")
    assert (status, out["code"]) == (2, "usage")                    # no --pin option: a PIN is never an argument


def test_a_cashier_cannot_replace_the_rules_a_manager_can_and_it_is_audited(ctl, db, tmp_path):
    other = tmp_path / "other.toml"
    other.write_text(REFERENCE_RULES.read_text().replace('name = "Gold"', 'name = "Golden"', 1))
    with Ledger(db) as led:
        before = led.rules.digest
    status, out = ctl("--operator", "c1", "--pin-stdin", "init", "--rules", str(other), stdin=f"{PIN_C}\n")
    assert (status, out["code"]) == (3, "forbidden")
    with Ledger(db) as led:
        assert led.rules.digest == before
    status, out = ctl("--operator", "m1", "--pin-stdin", "init", "--rules", str(other), stdin=f"{PIN_M}\n")
    assert status == 0 and out["rules"] != before
    status, out = ctl("audit", "--staff", "m1")
    assert [(r["kind"], r["operator"]) for r in out["audit"]] == [
        ("staff_add", "admin"), ("staff_sign_in", "m1"), ("rules_replaced", "m1")]
    assert out["audit"][-1]["detail"] == {"from": before, "to": out["audit"][-1]["detail"]["to"]} != before
    status, out = ctl("--operator", "c1", "--pin-stdin", "audit", stdin=f"{PIN_C}\n")
    assert (status, out["code"]) == (3, "forbidden")                # the audit is a manager's


def test_wrong_pins_through_kioskctl_lock_the_touchscreen_too_and_a_locked_cashier_is_refused(ctl, db):
    for _ in range(MAX_FAILURES - 1):
        assert ctl("--operator", "c1", "--pin-stdin", "show", "--card", "C1", stdin="0000\n")[0] == 3
    with Ledger(db) as led, pytest.raises(Refused, match="locked"):
        led.sign_in("c1", "0000")                                   # the fifth, on the touchscreen
    status, out = ctl("--operator", "c1", "--pin-stdin", "show", "--card", "C1", stdin=f"{PIN_C}\n")
    assert (status, out["code"]) == (3, "staff_locked")
    status, out = ctl("audit", "--staff", "c1", "--since", "2026-11-24T00:00")
    assert [r["kind"] for r in out["audit"]] == (["staff_add"] + ["staff_sign_in_failed"] * MAX_FAILURES
                                                 + ["staff_lockout"])
    assert [r["detail"]["failures"] for r in out["audit"][1:-1]] == list(range(1, MAX_FAILURES + 1))
    assert ctl("audit", "--since", "2026-11-25T00:00")[1]["audit"] == []


def test_staff_add_reads_the_operators_pin_then_the_new_one(ctl, db):
    status, out = ctl("--operator", "m1", "--pin-stdin", "staff", "add", "--id", "c2", "--name", "New",
                      "--role", "cashier", stdin=f"{PIN_M}\n{NEW_PIN}\n")
    assert status == 0
    with Ledger(db) as led:
        assert led.sign_in("c2", NEW_PIN)["staff_id"] == "c2"
    assert kinds(db, "staff_add")[-1] == ("staff_add", "m1", "c2")


def test_without_operator_only_the_administrator_runs_kioskctl(ctl, monkeypatch, tmp_path):
    monkeypatch.delenv("KIOSK_ADMIN_GROUP")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)      # not root (the tests may run as root)
    status, out = ctl("show", "--card", "C1")
    assert (status, out["code"]) == (3, "not_administrator")
    assert ctl("--operator", "c1", "--pin-stdin", "show", "--card", "C1", stdin=f"{PIN_C}\n")[0] == 0
    assert ctl("config", "show")[0] == 0                  # device diagnostics need no identity
    assert is_administrator("", euid=0) and not is_administrator("", euid=1000)
    assert not is_administrator("no-such-group-here", euid=1000, groups=[0])
    rooty = tmp_path / "mine.toml"
    rooty.write_text('[kiosk]\nadmin_group = "users"\n')
    with pytest.raises(config.ConfigError, match="admin_group may be set only in"):
        config.load(rooty, environ={})


def test_administrator_only_commands_refuse_staff_without_asking_a_pin(ctl, tmp_path):
    status, out = ctl("--operator", "m1", "backup", "--out", str(tmp_path / "b.db"))
    assert (status, out["code"]) == (3, "forbidden")


def test_every_command_names_its_action_in_the_one_table():
    paths = set()

    def walk(parser):
        for action in parser._actions:
            for sub in getattr(action, "choices", None) and isinstance(action.choices, dict) and \
                    action.choices.values() or ():
                if sub.get_default("path"):
                    paths.add(sub.get_default("path"))
                walk(sub)
    walk(cli.build_parser())
    assert paths == set(ACTIONS)
    assert set(ACTIONS.values()) <= set(permissions.PERMISSIONS)


def test_a_pin_never_shows_in_the_process_list_or_the_log(db, caplog):
    assert shows(PIN_M, f"pin={PIN_M}\n") and not shows(PIN_M, f"a{PIN_M}f")
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.cli", "--db", str(db), "--operator", "m1", "--pin-stdin",
                             "staff", "reset-pin", "--id", "c1"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    cmdline = ""
    while not cmdline:                                    # empty until the kernel has set up the new program
        cmdline = open(f"/proc/{proc.pid}/cmdline", "rb").read().decode()
    out, err = proc.communicate(f"{PIN_M}\n{NEW_PIN}\n")
    assert proc.returncode == 0, err
    assert "reset-pin" in cmdline and not shows(PIN_M, cmdline) and not shows(NEW_PIN, cmdline)
    assert not shows(PIN_M, out + err) and not shows(NEW_PIN, out + err)
    caplog.set_level(logging.DEBUG)
    with Ledger(db) as led:
        with pytest.raises(Refused):
            led.sign_in("m1", PIN_C)
        led.sign_in("m1", PIN_M)
        led.reset_pin("c1", PIN_C, operator="m1")
        records = json.dumps(led.journal())
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "m1" in logged and not any(shows(pin, logged) for pin in (PIN_C, PIN_M, NEW_PIN))
    assert not any(shows(pin, records) for pin in (PIN_C, PIN_M, NEW_PIN)) and "scrypt" not in records


def test_ledger_files_are_the_owners_only(tmp_path, ctl):
    old = os.umask(0o022)
    try:
        path = tmp_path / "new" / "ledger.db"
        with Ledger.create(path) as led:
            led.register(name="A", phone="13900139000", card_id="X1", operator="admin")
            modes = {p.name: p.stat().st_mode & 0o777 for p in path.parent.iterdir()}
    finally:
        os.umask(old)
    assert modes == {"ledger.db": 0o600, "ledger.db-wal": 0o600, "ledger.db-shm": 0o600, "ledger.db.key": 0o600}


def test_a_pin_hash_costs_scrypt_n_2_14_with_its_own_salt():
    import hashlib

    from kiosk.ledger.staff import hash_pin
    first, second = hash_pin("1234"), hash_pin("1234")
    kind, salt, digest = first.split("$")
    assert kind == "scrypt" and len(bytes.fromhex(salt)) == 16 and first != second
    assert hashlib.scrypt(b"1234", salt=bytes.fromhex(salt), n=2**14, r=8, p=1).hex() == digest
