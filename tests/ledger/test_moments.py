"""A transaction is dated by the clock or by ``--at``, and never before what it refers to."""
import subprocess
import sys

import pytest

from kiosk.ledger import InvalidInput, Refused, lines_from_amount


def test_an_undo_cannot_be_dated_before_its_top_up(led, member):
    topup = led.topup(member, 50000, operator="admin", at="2026-11-10T10:00")
    with pytest.raises(InvalidInput, match="before transaction"):
        led.undo_topup(topup["tx_id"], reason="typo", operator="admin", at="2026-11-10T09:59")
    assert led.member_view(member, at="2026-11-10T10:01")["principal_fen"] == 50000


def test_a_refund_cannot_be_dated_before_its_purchase(led, member):
    bought = led.purchase(member, lines_from_amount(10000), operator="admin", at="2026-11-10T10:00")
    with pytest.raises(InvalidInput, match="before transaction"):
        led.refund(bought["tx_id"], 10000, operator="admin", at="2026-11-09T10:00")


def test_a_coupon_cannot_be_used_before_it_was_issued(led, member):
    led.issue_coupon(member, "V20", operator="admin", at="2026-11-10T10:00")
    with pytest.raises(Refused, match="no valid V20"):
        led.purchase(member, lines_from_amount(10000), coupons=["V20"], operator="admin", at="2026-11-09T10:00")
    used = led.purchase(member, lines_from_amount(10000), coupons=["V20"], operator="admin", at="2026-11-10T10:05")
    assert used["coupon_discount_fen"] == 2000


def test_nothing_happens_to_a_member_before_they_joined(led, member):
    with pytest.raises(InvalidInput, match="before the member joined"):
        led.checkin(member, at="2026-10-31T09:00")


@pytest.mark.parametrize("at", ["9999-12-31T23:59", "0001-01-01", "1999-12-31T23:59", "2100-01-01"])
def test_impossible_dates_are_a_usage_error_on_one_line(tmp_path, at):
    db = str(tmp_path / "k.db")
    run = lambda *a: subprocess.run([sys.executable, "-m", "kiosk.cli", "--db", db, *a], capture_output=True,
                                    text=True)
    assert run("init").returncode == 0
    proc = run("member", "add", "--name", "A", "--phone", "13800001111", "--card", "C1", "--at", at)
    assert proc.returncode == 2, proc.stderr
    assert "outside the years 2000-2099" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert run("show", "--card", "C1").returncode == 3        # nothing was written
