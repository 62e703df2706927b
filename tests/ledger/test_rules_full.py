"""examples/rules-full.toml: tier benefits, spend bands, points into stored value, richer top-up
bonuses and points transfer, each the way a member or a cashier meets it. Every moment is pinned."""
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.ledger import InvalidInput, Ledger, Refused, RulesError, lines_from_amount, load_rules, verify
from kiosk.ledger.pricing import Line

FULL = (Path(__file__).parents[2] / "examples" / "rules-full.toml").read_text()
MON, WED, THU = "2026-11-02T10:00", "2026-11-04T10:00", "2026-11-05T10:00"


@pytest.fixture
def led(tmp_path):
    ledger = Ledger.create(tmp_path / "full.db", kiosk_id="k1", store_id="s1", rules_text=FULL,
                           at="2026-01-01T08:00")
    for card, phone in (("A", "13800000001"), ("B", "13800000002")):
        ledger.register(name=f"M{card}", phone=phone, card_id=card, birthday="1990-05-17", operator="admin",
                        at="2026-01-01T09:00")
    yield ledger
    assert verify(ledger.conn) == []
    ledger.close()


def buy(led, card, fen, at, **kw):
    return led.purchase(card, lines_from_amount(fen), operator="admin", at=at, **kw)


def points(led, card, at=THU):
    return led.member_view(card, at=at)["points"]


# -- validation ----------------------------------------------------------------------------------
@pytest.mark.parametrize("old, new, key", [
    ('from = "200.00"\nper_yuan = "1.5"', 'from = "0"\nper_yuan = "1.5"', "points.bands"),
    ('per_yuan = "1.5"', 'per_yuan = "lots"', "points.bands[0].per_yuan"),
    ("daily_cap = 5000", "", "points.to_stored_value.daily_cap: missing"),
    ("daily_cap = 2000", "daily_cap = 2000\ncolour = 1", "points.transfer.colour: unknown key"),
    ('coupon = "V20"', 'coupon = "NOPE"', "stored_value.bonus[2].coupon"),
    ('package = "WASH-10"', 'package = ""', "stored_value.bonus[2].package"),
    ("instalments = 3", "instalments = 0", "stored_value.bonus[1].instalments"),
    ('earn_multiplier = "1.5"', 'earn_multiplier = "x1.5"', "tiers.levels[3].earn_multiplier"),
    ('birthday_coupon = "BDAY-50"', 'birthday_coupon = "BDAY-99"', "tiers.levels[3].birthday_coupon"),
])
def test_new_keys_are_refused_with_their_name(old, new, key):
    assert old in FULL
    with pytest.raises(RulesError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_rules(FULL.replace(old, new, 1))


def test_a_bonus_step_must_give_something():
    text = FULL.replace('bonus = "50.00"\n', "", 1)
    with pytest.raises(RulesError, match=r"stored_value.bonus\[0\]: give at least one"):
        load_rules(text)


# -- spend bands ---------------------------------------------------------------------------------
@pytest.mark.parametrize("lines, at, earned", [
    ([19999], THU, 199),                 # below the band: 1 per yuan
    ([30000], THU, 200 + 150),           # 200 at 1, 100 at 1.5
    ([15050, 15050], THU, 351),          # pooled: 301 yuan -> 200 + 151.5, floored once
    ([15050, 15050], WED, 702),          # floored, then the Wednesday x2
])
def test_spend_bands_step_with_the_amount_paid(led, lines, at, earned):
    items = [Line(amount_fen=fen) for fen in lines]
    assert led.purchase("A", items, operator="admin", at=at)["points_earned"] == earned


# -- tier benefits -------------------------------------------------------------------------------
def test_tier_multiplier_multiplies_the_campaign_multiplier(led):
    reach = buy(led, "A", 1_000_000, MON)            # registered (x1): 200 + 9,800 x 1.5
    assert (reach["points_earned"], reach["tier"]) == (14_900, "gold")
    assert buy(led, "A", 10000, THU)["points_earned"] == 135   # 90 paid after 10 % off, x1.5 gold
    assert buy(led, "A", 10000, WED)["points_earned"] == 270   # x2 Wednesday x1.5 gold = x3


def test_tier_multiplier_with_stacked_campaigns(tmp_path):
    led = Ledger.create(tmp_path / "s.db", rules_text=FULL.replace("stack_multipliers = false", "stack_multipliers = true"),
                        at="2026-01-01T08:00")
    led.register(name="N", phone="13800000009", card_id="N", birthday="1990-11-03", operator="admin",
                 at="2026-01-01T09:00")
    buy(led, "N", 1_000_000, "2026-10-01T10:00")     # gold
    assert buy(led, "N", 10000, WED)["points_earned"] == 90 * 2 * 2 * 3 // 2   # Wed x birthday x gold
    led.close()


def test_birthday_coupon_once_in_the_birthday_month(led):
    buy(led, "A", 100_000, MON)                      # normal: BDAY-20
    assert led.visit("A", at="2027-04-30T23:59")["birthday_coupon"] == ""
    first = led.visit("A", at="2027-04-30T17:00:00Z")   # 1 May 01:00 in Shanghai, still April in UTC
    assert first["birthday_coupon"] == "BDAY-20"
    assert [(c["code"], c["valid_until"]) for c in led.member_view("A", at="2027-05-02T10:00")["coupons"]] == \
        [("BDAY-20", "2027-05-31")]
    assert led.visit("A", at="2027-05-31T23:59") == {"birthday_coupon": "", "instalments": []}
    assert led.visit("A", at="2028-05-02T10:00")["birthday_coupon"] == "BDAY-20"


def test_no_birthday_coupon_for_a_tier_without_one(led):
    assert led.visit("B", at="2027-05-02T10:00") == {"birthday_coupon": "", "instalments": []}
    assert led.benefits_due("B", at="2027-05-02T10:00")["birthday_coupon"] == ""


# -- points into stored value --------------------------------------------------------------------
def test_convert_points_soonest_expiring_first_as_bonus(led):
    early = buy(led, "A", 5000, "2026-01-05T10:00")  # 50 points, last day 2027-01-31
    late = buy(led, "A", 10000, MON)                 # 100 points, last day 2027-11-30
    done = led.convert_points("A", 120, at=THU)
    assert done["bonus_fen"] == 120
    assert done["lots"] == [{"lot_id": f"{early['tx_id']}:p", "points": 50},
                            {"lot_id": f"{late['tx_id']}:p", "points": 70}]
    view = led.member_view("A", at=THU)
    assert (view["points"], view["principal_fen"], view["bonus_fen"]) == (30, 0, 120)
    closed = led.close_account("A", reason="moving away", operator="admin", at=THU)
    assert (closed["refund_principal_fen"], closed["forfeit_bonus_fen"]) == (0, 120)   # bonus is not refundable


def test_convert_points_daily_cap(led):
    buy(led, "A", 1_000_000, MON)
    led.convert_points("A", 4000, at=THU)
    with pytest.raises(Refused) as refused:
        led.convert_points("A", 1001, at="2026-11-05T23:59")
    assert refused.value.code == "daily_cap"
    led.convert_points("A", 1000, at="2026-11-05T23:59")
    led.convert_points("A", 1, at="2026-11-06T00:00")
    assert led.member_view("A", at="2026-11-06T00:01")["bonus_fen"] == 5001


def test_convert_refused_without_the_rule_or_the_points(led, tmp_path):
    with pytest.raises(Refused, match="only 0 points"):
        led.convert_points("A", 100, at=THU)
    plain = Ledger.create(tmp_path / "plain.db", at="2026-01-01T08:00")
    plain.register(name="P", phone="13800000003", card_id="P", operator="admin", at=MON)
    with pytest.raises(Refused) as refused:
        plain.convert_points("P", 100, at=THU)
    assert refused.value.code == "not_allowed"
    plain.close()


# -- richer top-up bonuses -----------------------------------------------------------------------
def test_topup_bonus_paid_in_monthly_instalments(led):
    topup = led.topup("A", 100_000, operator="admin", at="2026-11-20T10:00")
    assert (topup["bonus_fen"], topup["points"], topup["instalments"]) == (5000, 100, 3)
    assert led.visit("A", at="2026-11-30T23:59")["instalments"] == []
    second = led.visit("A", at="2026-12-01T09:00")
    assert [(p["part"], p["bonus_fen"], p["points"]) for p in second["instalments"]] == [(2, 5000, 100)]
    assert led.visit("A", at="2026-12-20T09:00")["instalments"] == []
    third = led.visit("A", at="2027-02-10T09:00")   # a month skipped: the part waits for the next visit
    assert [p["part"] for p in third["instalments"]] == [3]
    view = led.member_view("A", at="2027-02-10T10:00")
    assert (view["principal_fen"], view["bonus_fen"], view["points"]) == (100_000, 15_000, 300)


def test_undo_cancels_unpaid_parts_and_takes_back_paid_ones(led):
    topup = led.topup("A", 100_000, operator="admin", at="2026-11-30T23:50")
    led.visit("A", at="2026-12-01T00:05")            # part 2 paid, within the undo window
    undone = led.undo_topup(topup["tx_id"], reason="wrong card", operator="admin", at="2026-12-01T00:10")
    assert (undone["principal_fen"], undone["bonus_fen"], undone["points"]) == (100_000, 10_000, 200)
    view = led.member_view("A", at="2027-01-05T10:00")
    assert (view["principal_fen"], view["bonus_fen"], view["points"]) == (0, 0, 0)
    assert led.visit("A", at="2027-01-05T10:00")["instalments"] == []   # part 3 was cancelled


def test_undo_refused_once_a_paid_part_is_spent(led):
    topup = led.topup("A", 100_000, operator="admin", at="2026-11-30T23:50")
    led.visit("A", at="2026-12-01T00:05")
    led.convert_points("A", 150, at="2026-12-01T00:06")   # spends bonus points
    with pytest.raises(Refused) as refused:
        led.undo_topup(topup["tx_id"], reason="wrong card", operator="admin", at="2026-12-01T00:10")
    assert refused.value.code == "topup_spent"


def test_coupon_and_package_bonus_taken_back_unless_used(led):
    first = led.topup("A", 200_000, operator="admin", at=MON)
    view = led.member_view("A", at=MON)
    assert [c["code"] for c in view["coupons"]] == ["V20"] and [p["code"] for p in view["packages"]] == ["WASH-10"]
    led.undo_topup(first["tx_id"], reason="mistake", operator="admin", at="2026-11-02T10:05")
    view = led.member_view("A", at=MON)
    assert (view["coupons"], view["packages"], view["principal_fen"], view["bonus_fen"]) == ([], [], 0, 0)
    second = led.topup("A", 200_000, operator="admin", at=THU)
    led.use_package("A", "WASH-10", operator="admin", at="2026-11-05T10:01")
    with pytest.raises(Refused, match="package"):
        led.undo_topup(second["tx_id"], reason="mistake", operator="admin", at="2026-11-05T10:05")


# -- points transfer -----------------------------------------------------------------------------
def test_transfer_keeps_expiry_and_shows_in_both_histories(led):
    buy(led, "A", 5000, "2026-01-05T10:00")          # 50 points, last day 2027-01-31
    buy(led, "A", 10000, MON)                        # 100 points, last day 2027-11-30
    done = led.transfer_points("A", "B", 80, at=THU)
    received = led.conn.execute("SELECT points, expires_on FROM lots WHERE member_id = ? ORDER BY expires_on",
                                (done["to_member"],)).fetchall()
    assert received == [(50, "2027-01-31"), (30, "2027-11-30")]
    assert (points(led, "A"), points(led, "B")) == (70, 80)
    for card, change in (("A", -80), ("B", 80)):
        latest = led.member_view(card, at=THU)["history"][0]
        assert (latest["tx_id"], latest["kind"], latest["summary"]["points"]) == (done["tx_id"], "transfer", change)


def test_transfer_daily_cap_and_refusals(led):
    buy(led, "A", 1_000_000, MON)
    led.transfer_points("A", "B", 1500, at=THU)
    with pytest.raises(Refused) as refused:
        led.transfer_points("A", "B", 501, at=THU)
    assert refused.value.code == "daily_cap"
    led.transfer_points("A", "B", 500, at=THU)
    with pytest.raises(InvalidInput):
        led.transfer_points("A", "A", 5, at="2026-11-06T10:00")
    led.report_lost("B", operator="admin", at="2026-11-06T09:00")
    for giver, taker in (("A", "B"), ("B", "A")):
        with pytest.raises(Refused) as refused:
            led.transfer_points(giver, taker, 5, at="2026-11-06T10:00")
        assert refused.value.code == "card_blocked"
    assert points(led, "A", "2026-11-06T10:00") == 14_900 - 2000


def test_receipt_claims_earn_with_bands_and_the_tier_multiplier(led):
    buy(led, "A", 1_000_000, MON)                    # gold
    issued = int(datetime(2026, 11, 6, 8, 0, tzinfo=ZoneInfo("Asia/Shanghai")).timestamp())   # a Friday
    claim = led.claim_receipt("A", store_id="s1", pos_txn="P1", amount_fen=30000, issued_at=issued,
                              at="2026-11-06T10:00")
    assert claim["points"] == (200 + 150) * 3 // 2    # banded, then x1.5 gold


def test_a_visit_that_finds_it_was_paid_meanwhile_is_not_an_error(led, monkeypatch):
    """Between the look and the write lock head office's feed may have paid it: the tap still works."""
    monkeypatch.setattr(led, "benefits_due", lambda *a, **k: {"birthday_coupon": "BDAY-20", "instalments": []})
    assert led.visit("B", at="2027-05-02T10:00") == {"birthday_coupon": "", "instalments": []}
