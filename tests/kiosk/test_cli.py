"""kioskctl as a script would use it: spellings, JSON, exit codes, nothing written on refusal."""
import json
import os
import subprocess
import sys

import pytest


@pytest.fixture
def ctl(tmp_path):
    db = tmp_path / "k.db"
    env = {**os.environ, "KIOSK_DB": str(tmp_path / "unused.db")}

    def run(*args, expect=0, stdin=None):
        proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--db", str(db), *args], capture_output=True,
                              text=True, env=env, input=stdin)
        assert proc.returncode == expect, (args, proc.returncode, proc.stdout, proc.stderr)
        return proc
    run("init")
    return run


def js(proc):
    return json.loads(proc.stdout)


def test_reference_scenario_through_kioskctl(ctl):
    ctl("member", "add", "--name", "张三", "--phone", "13800138000", "--card", "C1", "--birthday", "1990-05-17",
        "--at", "2026-11-01T09:00")
    first = js(ctl("tx", "earn", "--card", "C1", "--amount", "128.50", "--at", "2026-11-02T10:00", "--json"))
    assert first["points_earned"] == 128 and first["tx_id"]
    ctl("tx", "earn", "--card", "C1", "--amount", "900.00", "--at", "2026-11-03T10:00")
    third = js(ctl("--json", "tx", "earn", "--card", "C1", "--amount", "200.00", "--at", "2026-11-05T10:00"))
    assert (third["payable_fen"], third["points_earned"]) == (19000, 190)
    shown = js(ctl("show", "--card", "C1", "--json", "--at", "2026-11-05T11:00"))
    assert (shown["tier"], shown["points"], shown["principal_fen"], shown["bonus_fen"]) == ("normal", 1218, 0, 0)
    assert isinstance(shown["member_id"], str)


def test_every_transaction_command(ctl):
    ctl("member", "add", "--name", "A", "--phone", "13800138000", "--card", "C1")
    ctl("member", "add", "--name", "B", "--phone", "13900139000", "--card", "C2", "--referrer", "C1")
    top = js(ctl("tx", "topup", "--card", "C1", "--amount", "500", "--json"))
    assert (top["principal_fen"], top["bonus_fen"]) == (50000, 5000)
    undo = js(ctl("tx", "undo", top["tx_id"], "--reason", "wrong card", "--json"))
    assert undo["undone"] == top["tx_id"]
    js(ctl("tx", "topup", "--card", "C1", "--amount", "1000", "--json"))
    spend = js(ctl("tx", "spend", "--card", "C1", "--amount", "30", "--json"))
    assert spend["sv_principal_fen"] + spend["sv_bonus_fen"] == 3000
    ctl("coupon", "issue", "--card", "C1", "--coupon", "V20")
    earn = js(ctl("tx", "earn", "--card", "C1", "--amount", "1000", "--coupon", "V20", "--pay", "stored-value",
                  "--json"))
    assert earn["coupon_discount_fen"] == 2000
    ctl("tx", "refund", earn["tx_id"], "--amount", "900.00")
    ctl("tx", "checkin", "--card", "C1")
    ctl("tx", "adjust", "--card", "C1", "--points", "800", "--reason", "welcome")
    redeem = js(ctl("tx", "redeem", "--card", "C1", "--gift", "GIFT-MUG", "--json"))
    assert redeem["stock_left"] == 9
    sold = js(ctl("tx", "package-sell", "--card", "C1", "--name", "Wash", "--uses", "3", "--price", "90",
                  "--json"))
    assert js(ctl("tx", "package-use", "--card", "C1", "--json"))["remaining"] == 2 and sold["uses"] == 3
    ctl("member", "lost", "--card", "C2")
    ctl("member", "replace", "--card", "C2", "--new-card", "C3")
    closed = js(ctl("member", "close", "--card", "C3", "--reason", "moving", "--json"))
    assert closed["refund_principal_fen"] == 0
    ctl("expire", "--at", "2030-01-01T00:00")
    journal = js(ctl("journal", "--json"))["journal"]
    assert [r["seq"] for r in journal] == list(range(1, len(journal) + 1))
    assert js(ctl("verify", "--json"))["ok"] is True


@pytest.mark.parametrize("args, expect, code", [
    (("tx", "earn", "--card", "C1", "--amount", "12.345"), 2, None),
    (("tx", "earn", "--card", "C1", "--amount", "-5"), 2, None),
    (("tx", "earn", "--card", "C1", "--amount", "1e3"), 2, None),
    (("tx", "earn", "--card", "NOPE", "--amount", "5"), 3, "unknown_card"),
    (("tx", "redeem", "--card", "C1", "--gift", "GIFT-BAG"), 3, "insufficient_points"),
    (("tx", "redeem", "--card", "C1", "--gift", "NOPE"), 3, "unknown_gift"),
    (("tx", "spend", "--card", "C1", "--amount", "1"), 3, "insufficient_stored_value"),
    (("tx", "undo", "no-such-tx", "--reason", "x"), 3, "unknown_tx"),
    (("tx", "adjust", "--card", "C1", "--points", "5", "--reason", "x", "--operator", "ghost", "--pin-stdin"), 3,
     "unknown_operator"),
])
def test_refusals_exit_codes_and_change_nothing(ctl, args, expect, code):
    ctl("member", "add", "--name", "A", "--phone", "13800138000", "--card", "C1")
    before = js(ctl("journal", "--json"))
    proc = ctl(*args, "--json", expect=expect, stdin="1234\n")
    assert proc.stderr.strip().count("\n") == 0 or expect == 2   # one line (argparse adds usage)
    if code:
        assert js(proc)["code"] == code and js(proc)["error"]
    assert js(ctl("journal", "--json")) == before


def test_blocked_card_is_refused(ctl):
    ctl("member", "add", "--name", "A", "--phone", "13800138000", "--card", "C1")
    ctl("member", "lost", "--card", "C1")
    proc = ctl("tx", "checkin", "--card", "C1", "--json", expect=3)
    assert js(proc)["code"] == "card_blocked" and "lost" in proc.stderr


def test_missing_ledger_and_bad_config_are_clear(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--db", str(tmp_path / "none.db"), "show", "--card",
                           "X"], capture_output=True, text=True)
    assert proc.returncode == 2 and "kioskctl" in proc.stderr and "init" in proc.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text('[kiosk]\nidd = "x"\n')
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(bad), "config", "show"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "idd" in proc.stderr and str(bad) in proc.stderr


def test_staff_roles_are_enforced(ctl):
    ctl("member", "add", "--name", "A", "--phone", "13800138000", "--card", "C1")
    ctl("staff", "add", "--id", "ann", "--name", "Ann", "--role", "cashier", "--pin-stdin", stdin="1234\n")
    top = js(ctl("tx", "topup", "--card", "C1", "--amount", "100", "--operator", "ann", "--pin-stdin", "--json",
                 stdin="1234\n"))
    proc = ctl("tx", "undo", top["tx_id"], "--reason", "oops", "--operator", "ann", "--pin-stdin", "--json",
               stdin="1234\n", expect=3)
    assert js(proc)["code"] == "forbidden"
    journal = js(ctl("journal", "--json"))["journal"]
    assert [(r["kind"], r["operator"]) for r in journal[-3:]] == [
        ("staff_sign_in", "ann"), ("topup", "ann"), ("staff_sign_in", "ann")]


def test_printed_coupon_through_kioskctl_once_and_only_when_signed(ctl, tmp_path):
    from drivers.codes import make_coupon_code
    conf = tmp_path / "codes.toml"
    conf.write_text('[codes]\ncoupon_secret = "s3cret"\n')
    code = make_coupon_code(b"s3cret", "V20", 17)
    ctl("member", "add", "--name", "A", "--phone", "13800138000", "--card", "C1", "--at", "2026-11-02T09:00")
    ctl("member", "add", "--name", "B", "--phone", "13900139000", "--card", "C2", "--at", "2026-11-02T09:00")
    args = ("--config", str(conf), "--amount", "100", "--at", "2026-11-02T10:00", "--json")
    quote = js(ctl("tx", "quote", "--card", "C1", "--printed-coupon", code, *args))
    assert quote["coupon_discount_fen"] == 2000
    bought = js(ctl("tx", "earn", "--card", "C1", "--printed-coupon", code, *args))
    assert bought["payable_fen"] == 8000
    again = ctl("tx", "earn", "--card", "C2", "--printed-coupon", code, *args, expect=3)
    assert js(again)["code"] == "coupon_used"
    forged = ctl("tx", "earn", "--card", "C2", "--printed-coupon", make_coupon_code(b"guess", "V20", 18), *args,
                 expect=2)
    assert js(forged)["code"] == "bad_coupon_code" and "bad-signature" in forged.stderr
    summary = js(ctl("summary", "--at", "2026-11-02T23:00", "--json"))
    assert (summary["purchases"], summary["coupon_discount_fen"]) == (1, 2000)


def test_member_erase_through_kioskctl_keeps_balances_and_verifies(ctl):
    ctl("member", "add", "--name", "张三", "--phone", "13800138000", "--card", "C1", "--birthday", "1990-05-17")
    ctl("tx", "topup", "--card", "C1", "--amount", "100.00")
    assert js(ctl("member", "erase", "--card", "C1", "--json", expect=2))["code"] == "usage"     # --reason needed
    assert js(ctl("member", "erase", "--card", "C1", "--reason", "member asked", "--json"))["erased"] is True
    shown = js(ctl("show", "--card", "C1", "--json"))
    assert shown["erased"] and shown["name"] == "" and shown["birthday"] is None and shown["principal_fen"] == 10000
    assert "张三" not in ctl("show", "--card", "C1").stdout
    ctl("show", "--phone", "13800138000", expect=3)
    ctl("verify")


def test_member_add_without_a_name_keeps_the_consent_with_the_registration(ctl):
    ctl("member", "add", "--phone", "13800138001", "--card", "C2", "--consent", "2026-11")
    assert js(ctl("show", "--card", "C2", "--json"))["name"] == ""
    [record] = [r for r in js(ctl("journal", "--json"))["journal"] if r["kind"] == "register"]
    assert record["data"]["privacy_notice"] == "2026-11"
    refused = js(ctl("member", "add", "--phone", "13800138002", "--card", "C3", "--consent", "v 1; drop", "--json",
                     expect=2))
    assert refused["code"] == "invalid_input"
    ctl("show", "--card", "C3", expect=3)
