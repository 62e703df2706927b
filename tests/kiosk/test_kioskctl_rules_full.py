"""examples/rules-full.toml through kioskctl, one scenario per feature, every moment pinned with --at."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

FULL = Path(__file__).parents[2] / "examples" / "rules-full.toml"


@pytest.fixture
def ctl(tmp_path):
    db = tmp_path / "k.db"

    def run(*args, expect=0):
        proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--db", str(db), "--json", *args],
                              capture_output=True, text=True)
        assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
        return json.loads(proc.stdout)
    run("init", "--rules", str(FULL), "--at", "2026-01-01T08:00")
    for card, phone in (("A", "13800000001"), ("B", "13800000002")):
        run("member", "add", "--name", card, "--phone", phone, "--card", card, "--birthday", "1990-05-17",
            "--at", "2026-11-01T09:00")
    return run


def test_spend_band_and_tier_multiplier(ctl):
    gold = ctl("tx", "earn", "--card", "A", "--amount", "10000", "--at", "2026-11-02T10:00")
    assert (gold["points_earned"], gold["tier"]) == (14_900, "gold")          # 200 + 9,800 x 1.5
    wednesday = ctl("tx", "earn", "--card", "A", "--amount", "100", "--at", "2026-11-04T10:00")
    assert wednesday["points_earned"] == 270                                   # 90 x2 Wednesday x1.5 gold


def test_birthday_coupon_on_the_first_visit_of_the_month(ctl):
    ctl("tx", "earn", "--card", "A", "--amount", "1000", "--at", "2026-11-02T10:00")    # normal tier
    assert ctl("visit", "--card", "A", "--at", "2027-05-01T08:00")["birthday_coupon"] == "BDAY-20"
    assert ctl("visit", "--card", "A", "--at", "2027-05-21T08:00") == {"birthday_coupon": "", "instalments": []}
    used = ctl("tx", "earn", "--card", "A", "--amount", "100", "--coupon", "BDAY-20", "--at", "2027-05-21T09:00")
    assert used["coupon_discount_fen"] == 2000


def test_points_into_stored_value(ctl):
    ctl("tx", "earn", "--card", "A", "--amount", "100", "--at", "2026-11-02T10:00")
    done = ctl("points", "convert", "--card", "A", "--points", "60", "--at", "2026-11-05T10:00")
    assert (done["points"], done["bonus_fen"]) == (60, 60)
    shown = ctl("show", "--card", "A", "--at", "2026-11-05T11:00")
    assert (shown["points"], shown["principal_fen"], shown["bonus_fen"]) == (40, 0, 60)
    refused = ctl("points", "convert", "--card", "A", "--points", "41", "--at", "2026-11-05T11:00", expect=3)
    assert refused["code"] == "insufficient_points"
    assert ctl("points", "convert", "--card", "A", "--points", "0", expect=2)["code"] == "usage"


def test_topup_bonus_in_instalments_and_undo(ctl):
    topup = ctl("tx", "topup", "--card", "A", "--amount", "1000", "--at", "2026-11-30T23:50")
    assert (topup["bonus_fen"], topup["points"]) == (5000, 100)
    paid = ctl("visit", "--card", "A", "--at", "2026-12-01T00:05")
    assert [(p["part"], p["bonus_fen"]) for p in paid["instalments"]] == [(2, 5000)]
    undone = ctl("tx", "undo", topup["tx_id"], "--reason", "wrong card", "--at", "2026-12-01T00:10")
    assert (undone["principal_fen"], undone["bonus_fen"], undone["points"]) == (100_000, 10_000, 200)
    assert ctl("visit", "--card", "A", "--at", "2027-01-02T10:00")["instalments"] == []
    again = ctl("tx", "topup", "--card", "A", "--amount", "2000", "--at", "2027-01-02T10:00")
    assert (again["coupon"], again["package"]) == ("V20", "WASH-10")
    ctl("tx", "package-use", "--card", "A", "--package", "WASH-10", "--at", "2027-01-02T10:01")
    refused = ctl("tx", "undo", again["tx_id"], "--reason", "mistake", "--at", "2027-01-02T10:05", expect=3)
    assert refused["code"] == "topup_spent"


def test_points_transfer(ctl):
    ctl("tx", "earn", "--card", "A", "--amount", "100", "--at", "2026-11-02T10:00")
    done = ctl("points", "transfer", "--card", "A", "--to-card", "B", "--points", "30", "--at", "2026-11-05T10:00")
    for card, points in (("A", 70), ("B", 30)):
        shown = ctl("show", "--card", card, "--at", "2026-11-05T11:00")
        assert shown["points"] == points and shown["history"][0]["tx_id"] == done["tx_id"]
    ctl("member", "lost", "--card", "B", "--at", "2026-11-05T12:00")
    refused = ctl("points", "transfer", "--card", "A", "--to-card", "B", "--points", "5", "--at", "2026-11-05T13:00",
                  expect=3)
    assert refused["code"] == "card_blocked"
