"""The reference rule set, exercised the way the programme describes it."""
import pytest

from kiosk.ledger import InvalidInput, NotFound, Refused, lines_from_amount, verify
from kiosk.ledger.pricing import Line

MON, TUE, WED, THU = "2026-11-02T10:00", "2026-11-03T10:00", "2026-11-04T10:00", "2026-11-05T10:00"


def buy(led, card, fen, at, **kw):
    return led.purchase(card, lines_from_amount(fen), operator="admin", at=at, **kw)


def test_the_issue_scenario(led, member):
    first = buy(led, member, 12850, MON)
    assert first["payable_fen"] == 12850 and first["points_earned"] == 128
    second = buy(led, member, 90000, TUE)
    assert second["tier"] == "normal"
    third = buy(led, member, 20000, THU)
    assert third["payable_fen"] == 19000 and third["points_earned"] == 190
    view = led.member_view(member, at=THU)
    assert view["tier"] == "normal" and view["points"] == 128 + 900 + 190
    assert verify(led.conn) == []


def test_tier_discount_applies_only_to_later_purchases(led, member):
    upgrade = buy(led, member, 100000, TUE)
    assert upgrade["tier_discount_fen"] == 0 and upgrade["tier"] == "normal"
    assert buy(led, member, 10000, THU)["tier_discount_fen"] == 500


def test_wednesday_and_birthday_double_points_do_not_stack(led):
    led.register(name="Li", phone="13900139000", card_id="B1", birthday="1991-11-20", operator="admin",
                 at="2026-11-01T09:00")
    assert buy(led, "B1", 10050, WED)["points_earned"] == 200   # both apply: highest (x2) wins, not x4
    assert buy(led, "B1", 10050, THU)["points_earned"] == 200   # birthday month alone


def test_points_expire_end_of_month_twelve_months_later(led, member):
    buy(led, member, 10000, MON)
    assert led.member_view(member, at="2027-11-30T23:00")["points"] == 100
    result = led.expire(at="2027-12-01T00:30")
    assert [e["points"] for e in result["expired"]] == [100]
    assert led.member_view(member, at="2027-12-01T01:00")["points"] == 0
    assert led.expire(at="2027-12-02T00:30")["expired"] == []


def test_spending_draws_soonest_expiring_lot_first(led, early_member):
    early = buy(led, early_member, 50000, "2026-01-05T10:00")    # 500 points, last day 2027-01-31
    late = buy(led, early_member, 100000, MON)                   # 1000 points, last day 2027-11-30
    redeem = led.redeem(early_member, "GIFT-MUG", operator="admin", at=THU)
    lots = dict(led.conn.execute("SELECT lot_id, remaining FROM lots"))
    assert lots == {f"{early['tx_id']}:p": 0, f"{late['tx_id']}:p": 700}
    record = led.tx_record(redeem["tx_id"])
    assert record["data"]["lots"] == [{"lot_id": f"{early['tx_id']}:p", "points": 500},
                                      {"lot_id": f"{late['tx_id']}:p", "points": 300}]


def test_checkin_once_per_calendar_day(led, member):
    assert led.checkin(member, at="2026-11-02T08:00")["points"] == 5
    with pytest.raises(Refused, match="already checked in"):
        led.checkin(member, at="2026-11-02T23:59")
    led.checkin(member, at="2026-11-03T00:01")
    assert led.member_view(member, at=WED)["points"] == 10


def test_referral_rewards_both_on_first_purchase_only(led, member):
    led.register(name="Wang", phone="13700137000", card_id="R1", referrer_card=member, operator="admin",
                 at=MON)
    first = buy(led, "R1", 1000, TUE)
    assert first["referral_points"] == 100
    assert buy(led, "R1", 1000, THU)["referral_points"] == 0
    assert led.member_view(member, at=THU)["points"] == 100
    assert led.member_view("R1", at=THU)["points"] == 100 + 10 + 10


def test_points_as_cash_capped_at_half_the_payable(led, member):
    buy(led, member, 500000, MON)                  # 5000 points; silver from now on (8% off)
    quote = led.preview_purchase(member, [Line(10000)], points_cash=4600, at=THU)
    assert (quote.tier_discount_fen, quote.points_cash_fen, quote.payable_fen) == (800, 4600, 4600)
    with pytest.raises(Refused, match="at most 46.00"):
        buy(led, member, 10000, THU, points_cash=4601)
    assert led.member_view(member, at=THU)["points"] == 5000  # refused: nothing changed
    paid = buy(led, member, 10000, THU, points_cash=4600)
    assert paid["points_earned"] == 46 and led.member_view(member, at=THU)["points"] == 5000 - 4600 + 46


def test_coupons(led, member):
    for code in ("C10", "M200-50", "V20"):
        led.issue_coupon(member, code, operator="admin", at=MON)
    with pytest.raises(Refused, match="at least 50.00"):
        buy(led, member, 4999, TUE, coupons=["C10"])
    assert buy(led, member, 30000, TUE, coupons=["C10"])["coupon_discount_fen"] == 2000   # capped at 20
    with pytest.raises(Refused, match="no valid C10"):
        buy(led, member, 30000, TUE, coupons=["C10"])                                   # single use
    with pytest.raises(Refused, match="at most 1 coupon"):
        buy(led, member, 30000, TUE, coupons=["M200-50", "V20"])
    assert buy(led, member, 20000, TUE, coupons=["M200-50"])["payable_fen"] == 15000
    assert buy(led, member, 1500, TUE, coupons=["V20"])["payable_fen"] == 0              # voucher: no change
    with pytest.raises(NotFound):
        buy(led, member, 1500, TUE, coupons=["NOPE"])


def test_coupon_expires_after_its_validity(led, early_member):
    led.issue_coupon(early_member, "V20", operator="admin", at="2026-10-01T10:00")   # 30 days: through Oct 30
    with pytest.raises(Refused, match="no valid V20"):
        buy(led, early_member, 5000, MON, coupons=["V20"])


def test_topup_bonus_and_proportional_spend(led, member):
    assert led.topup(member, 49999, operator="admin", at=MON)["bonus_fen"] == 0
    assert led.topup(member, 50000, operator="admin", at=MON)["bonus_fen"] == 5000
    assert led.topup(member, 100000, operator="admin", at=MON)["bonus_fen"] == 15000
    view = led.member_view(member, at=MON)
    principal, bonus = view["principal_fen"], view["bonus_fen"]
    spent = buy(led, member, 10000, TUE, pay="stored-value")
    assert spent["sv_bonus_fen"] == 10000 * bonus // (principal + bonus)
    assert spent["sv_principal_fen"] + spent["sv_bonus_fen"] == 10000
    assert spent["points_earned"] == spent["sv_principal_fen"] // 100   # bonus money earns no points


def test_stored_value_refuses_overdraw(led, member):
    led.topup(member, 1000, operator="admin", at=MON)
    with pytest.raises(Refused, match="stored value"):
        buy(led, member, 1001, TUE, pay="stored-value")


def test_undo_topup_window_and_spent_rule(led, member):
    led.conn.execute("INSERT INTO staff (staff_id, name, role, pin_hash) VALUES ('cash1', 'C', 'cashier', 'x')")
    top = led.topup(member, 50000, operator="admin", at="2026-11-02T10:00")
    with pytest.raises(Refused, match="needs a manager"):
        led.undo_topup(top["tx_id"], reason="typo", operator="cash1", at="2026-11-02T10:10")
    with pytest.raises(InvalidInput, match="reason"):
        led.undo_topup(top["tx_id"], reason=" ", operator="admin", at="2026-11-02T10:10")
    with pytest.raises(Refused, match="within 30 minutes"):
        led.undo_topup(top["tx_id"], reason="typo", operator="admin", at="2026-11-02T10:31")
    undo = led.undo_topup(top["tx_id"], reason="typo", operator="admin", at="2026-11-02T10:29")
    assert undo["principal_fen"] == 50000 and led.member_view(member, at=TUE)["principal_fen"] == 0
    with pytest.raises(Refused, match="already undone"):
        led.undo_topup(top["tx_id"], reason="typo", operator="admin", at="2026-11-02T10:29")
    top2 = led.topup(member, 50000, operator="admin", at="2026-11-02T11:00")
    buy(led, member, 100, "2026-11-02T11:05", pay="stored-value")
    with pytest.raises(Refused, match="spent"):
        led.undo_topup(top2["tx_id"], reason="typo", operator="admin", at="2026-11-02T11:10")


def test_refund_takes_points_back_proportionally_and_makes_debt(led, member):
    p = buy(led, member, 90000, MON)                      # 900 points
    led.redeem(member, "GIFT-MUG", operator="admin", at=TUE)   # 800 spent: 100 left
    r = led.refund(p["tx_id"], 45000, operator="admin", at=WED)
    assert r["points_taken"] == 450
    view = led.member_view(member, at=WED)
    assert view["points_debt"] == 350 and view["points"] == -350
    assert buy(led, member, 50000, THU)["points_earned"] == 500   # repays the debt first
    view = led.member_view(member, at=THU)
    assert view["points_debt"] == 0 and view["points"] == 150
    with pytest.raises(Refused, match="at most 450.00"):
        led.refund(p["tx_id"], 45001, operator="admin", at=THU)
    assert led.refund(p["tx_id"], 45000, operator="admin", at=THU)["points_taken"] == 450
    assert verify(led.conn) == []


def test_refund_rounding_never_takes_more_than_earned(led, member):
    p = buy(led, member, 1999, MON)                       # 19 points
    taken = [led.refund(p["tx_id"], 333, operator="admin", at=TUE)["points_taken"] for _ in range(6)]
    taken.append(led.refund(p["tx_id"], 1, operator="admin", at=TUE)["points_taken"])
    assert sum(taken) == 19 and all(t >= 0 for t in taken)


def test_refund_of_stored_value_purchase_returns_principal_and_bonus(led, member):
    led.topup(member, 50000, operator="admin", at=MON)
    p = buy(led, member, 55000, TUE, pay="stored-value")
    before = len(led.journal())
    preview = led.preview_refund(p["tx_id"], 55000)                 # shown before the button, writes nothing
    assert len(led.journal()) == before
    r = led.refund(p["tx_id"], 55000, operator="admin", at=WED)
    assert (r["sv_principal_fen"], r["sv_bonus_fen"]) == (50000, 5000)
    assert {k: v for k, v in r.items() if k != "tx_id"} == preview
    with pytest.raises(Refused, match="left to refund"):
        led.preview_refund(p["tx_id"], 1)
    view = led.member_view(member, at=WED)
    assert (view["principal_fen"], view["bonus_fen"]) == (50000, 5000)


def test_gift_stock_runs_out(led, member):
    buy(led, member, 1200000, MON)                         # 12000 points
    for _ in range(5):
        led.redeem(member, "GIFT-BAG", operator="admin", at=TUE)
    with pytest.raises(Refused, match="out of stock"):
        led.redeem(member, "GIFT-BAG", operator="admin", at=TUE)
    assert {g["sku"]: g["stock"] for g in led.gifts()} == {"GIFT-MUG": 10, "GIFT-BAG": 0}
    assert led.member_view(member, at=TUE)["points"] == 12000 - 5 * 2000


def test_tier_downgrade_only_after_hold(led, early_member):
    p = buy(led, early_member, 100000, "2026-01-05T10:00")
    assert led.member_view(early_member, at=MON)["tier"] == "normal"
    led.refund(p["tx_id"], 100000, operator="admin", at="2026-01-06T10:00")
    assert led.evaluate_tiers(at="2026-06-01T00:00")["changed"] == []   # hold of 12 months
    changed = led.evaluate_tiers(at="2027-01-06T00:00")["changed"]
    assert [(c["from"], c["to"]) for c in changed] == [("normal", "registered")]


def test_tier_never_qualifies_on_balance(led, member):
    led.topup(member, 2000000, operator="admin", at=MON)     # 20,000 yuan of stored value
    led.adjust(member, 50000, reason="goodwill", operator="admin", at=MON)
    assert led.member_view(member, at=TUE)["tier"] == "registered"


def test_packages_sell_use_expire(led, member):
    from kiosk.ledger.rules import PackagePlan
    plan = PackagePlan(code="WASH3", name="Car wash x3", uses=3, price_fen=9900, valid_days=30)
    sold = led.sell_package(member, plan, operator="admin", at=MON)
    for left in (2, 1):
        assert led.use_package(member, operator="admin", at=TUE)["remaining"] == left
    assert led.expire(at="2026-12-03T00:10")["expired"][0]["member_id"]
    with pytest.raises(Refused, match="no package"):
        led.use_package(member, operator="admin", at="2026-12-03T10:00")
    row = led.conn.execute("SELECT remaining, status FROM packages WHERE package_id = ?",
                           (sold["package_id"],)).fetchone()
    assert row == (0, "expired")


def test_lost_replace_close(led, member):
    led.topup(member, 100000, operator="admin", at=MON)    # 1000 + 150 bonus
    buy(led, member, 10000, MON)
    led.report_lost(member, operator="admin", at=TUE)
    with pytest.raises(Refused, match="lost"):
        led.member_view(member, require_active=True)
    with pytest.raises(Refused, match="lost"):
        buy(led, member, 100, TUE)
    led.replace_card(member, "C2", operator="admin", at=TUE)
    view = led.member_view("C2", at=TUE)
    assert (view["principal_fen"], view["bonus_fen"], view["points"]) == (100000, 15000, 100)
    closed = led.close_account("C2", reason="moving away", operator="admin", at=WED)
    assert (closed["refund_principal_fen"], closed["forfeit_bonus_fen"], closed["forfeit_points"]) == (100000, 15000, 100)
    with pytest.raises(Refused, match="closed"):
        led.checkin("C2", at=THU)
    assert verify(led.conn) == []


def test_unknown_card_and_bad_input_change_nothing(led, member):
    before = led.conn.execute("SELECT COUNT(*) FROM journal").fetchone()
    with pytest.raises(NotFound):
        buy(led, "NOPE", 100, MON)
    with pytest.raises(InvalidInput):
        led.register(name="", phone="1", card_id="X", operator="admin")
    with pytest.raises(Refused, match="already issued"):
        led.register(name="A", phone="13800000000", card_id=member, operator="admin")
    assert led.conn.execute("SELECT COUNT(*) FROM journal").fetchone() == before


def test_sku_multiplier_and_category_coupon(tmp_path):
    from kiosk.ledger import REFERENCE_RULES, Ledger
    rules = REFERENCE_RULES.read_text()
    rules += '\n[[points.multipliers]]\nname = "Tea triple"\nfactor = "3"\ncategories = ["tea"]\n'
    led = Ledger.create(tmp_path / "l.db", kiosk_id="k", store_id="s", rules_text=rules)
    led.register(name="A", phone="13800000000", card_id="A1", operator="admin", at=MON)
    result = led.purchase("A1", [Line(1000, "T1", "tea"), Line(1000, "B1", "bakery")], operator="admin", at=THU)
    assert result["points_earned"] == 30 + 10 and result["multipliers"] == ["Tea triple"]
