"""Staff through kioskctl: adding is refused for an existing id; PIN reset and unlock are their own
manager actions, journaled; PINs come from stdin, never the command line."""
import json
import os
import subprocess
import sys

import pytest

from kiosk.ledger import Ledger, Refused
from kiosk.ledger.staff import MAX_FAILURES


@pytest.fixture
def ctl(tmp_path):
    db = tmp_path / "k.db"

    def run(*args, stdin="", expect=0):
        proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--db", str(db), *args], capture_output=True,
                              text=True, input=stdin, env={**os.environ, "KIOSK_DB": str(tmp_path / "unused.db")})
        assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
        return proc
    run("init", "--at", "2026-11-01T08:00")
    run.db = db
    return run


def _lock(db, staff_id):
    with Ledger(db) as led:
        for _ in range(MAX_FAILURES):
            with pytest.raises(Refused):
                led.sign_in(staff_id, "0000")


def _sign_in(db, staff_id, pin):
    with Ledger(db) as led:
        return led.sign_in(staff_id, pin)


def test_staff_add_on_an_existing_id_is_refused_and_changes_nothing(ctl):
    ctl("staff", "add", "--id", "ann", "--name", "Ann", "--role", "cashier", "--pin-stdin", stdin="1234\n")
    _lock(ctl.db, "ann")
    again = ctl("staff", "add", "--id", "ann", "--name", "Ann", "--role", "manager", "--pin-stdin", "--json",
                stdin="9999\n", expect=3)
    assert json.loads(again.stdout)["code"] == "staff_exists" and "reset-pin" in again.stderr
    with pytest.raises(Refused, match="locked"):          # still locked, old PIN, still a cashier
        _sign_in(ctl.db, "ann", "1234")


def _leaves(value):
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _keys(value):
    if isinstance(value, dict):
        return [*value, *(key for item in value.values() for key in _keys(item))]
    if isinstance(value, list):
        return [key for item in value for key in _keys(item)]
    return []


def test_reset_pin_and_unlock_are_journaled_manager_actions(ctl):
    ctl("staff", "add", "--id", "boss", "--name", "Boss", "--role", "manager", "--pin-stdin", stdin="2468\n")
    ctl("staff", "add", "--id", "ann", "--name", "Ann", "--role", "cashier", "--pin-stdin", stdin="1234\n")
    _lock(ctl.db, "ann")
    refused = ctl("staff", "unlock", "--id", "boss", "--operator", "ann", "--pin-stdin", "--json", stdin="1234\n",
                  expect=3)
    assert json.loads(refused.stdout)["code"] == "staff_locked"
    ctl("staff", "unlock", "--id", "ann", "--operator", "boss", "--pin-stdin", "--at", "2026-11-03T10:01",
        stdin="2468\n")
    assert _sign_in(ctl.db, "ann", "1234")["role"] == "cashier"
    refused = ctl("staff", "unlock", "--id", "boss", "--operator", "ann", "--pin-stdin", "--json", stdin="1234\n",
                  expect=3)
    assert json.loads(refused.stdout)["code"] == "forbidden"
    ctl("staff", "reset-pin", "--id", "ann", "--pin-stdin", "--operator", "boss", "--at", "2026-11-03T10:02",
        stdin="2468\n5678\n")          # the operator's PIN, then the new one
    with pytest.raises(Refused, match="wrong PIN"):
        _sign_in(ctl.db, "ann", "1234")
    assert _sign_in(ctl.db, "ann", "5678")["staff_id"] == "ann"
    journal = json.loads(ctl("journal", "--json").stdout)["journal"]
    staff = [(r["kind"], r["operator"], r["data"]["staff_id"]) for r in journal
             if r["kind"] in ("staff_add", "staff_unlock", "staff_pin_reset")]
    assert staff == [("staff_add", "admin", "boss"), ("staff_add", "admin", "ann"),
                     ("staff_unlock", "boss", "ann"), ("staff_pin_reset", "boss", "ann")]
    # neither the PIN nor its hash is journaled (a hash or UUID may contain the digits 5678 by chance)
    assert not any(value in ("5678", 5678) or "scrypt" in str(value) for r in journal for value in _leaves(r))
    assert not any("pin" in key.lower().split("_") for r in journal for key in _keys(r))
    ctl("verify")


def test_pins_are_never_taken_from_the_command_line(ctl):
    ctl("staff", "add", "--id", "ann", "--name", "Ann", "--role", "cashier", "--pin", "1234", expect=2)
    bad = ctl("staff", "add", "--id", "ann", "--name", "Ann", "--role", "cashier", "--pin-stdin", "--json",
              stdin="12\n", expect=2)
    assert "4 to 8 digits" in bad.stderr
    ctl("staff", "reset-pin", "--id", "nobody", "--pin-stdin", stdin="1234\n", expect=3)
