"""Daily / monthly summary and liability reconcile with the journal, recomputed a second way."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from kiosk.ledger import lines_from_amount
from sync.hq.output import render
from sync.hq.reports.liability import liability, members_above
from sync.hq.reports.period import parse_period
from sync.hq.reports.summary import summary, summary_tables

DAY = "2026-03-04"          # a Wednesday in Asia/Shanghai (double points)


def at(hhmm: str, day: str = DAY) -> str:
    return f"{day}T{hhmm}:00+08:00"


@pytest.fixture
def trading_day(chain):
    """Two stores, three cashiers, one day of counter work (plus the evening before and the day after)."""
    k1 = chain.kiosk("k1", "s1", staff=("c1", "c2", "m1"))
    k2 = chain.kiosk("k2", "s2", staff=("c3",))
    k1.register(name="Zhang San", phone="13800000001", card_id="C1", operator="c1", at=at("08:00", "2026-03-03"))
    k1.topup("C1", 100000, operator="c1", at=at("23:59", "2026-03-03"))       # yesterday: not in the day
    results = Counter()
    m2 = k1.register(name="李四", phone="13800000002", card_id="C2", operator="c2", at=at("00:05"))  # UTC: 3 March
    m3 = k2.register(name="Wang Wu", phone="13800000003", card_id="C3", operator="c3", at=at("09:00"))
    t = k1.topup("C2", 50000, operator="c2", at=at("09:10"))
    results.update(principal=t["principal_fen"], bonus=t["bonus_fen"])
    p1 = k1.purchase("C1", lines_from_amount(25000), pay="stored-value", operator="c1", at=at("10:00"))
    p2 = k1.purchase("C2", lines_from_amount(12345), operator="c2", at=at("11:00"))
    k1.adjust("C1", 3000, reason="goodwill", operator="m1", at=at("11:30"))
    p3 = k1.purchase("C1", lines_from_amount(10000), points_cash=2000, operator="c1", at=at("12:00"))
    refund = k1.refund(p1["tx_id"], 5000, operator="m1", at=at("13:00"))
    gift = k1.redeem("C1", "GIFT-MUG", operator="c1", at=at("14:00"))
    t2 = k2.topup("C3", 20000, operator="c3", at=at("15:00"))
    undo = k2.undo_topup(t2["tx_id"], reason="wrong card", operator="admin", at=at("15:10"))
    coupon = k2.issue_coupon("C3", "V20", operator="c3", at=at("16:00"))
    p4 = k2.purchase("C3", lines_from_amount(8000), coupons=["V20"], operator="c3", at=at("16:30"))
    plan = k2.rules.package("WASH10")
    k2.sell_package("C3", plan, operator="c3", at=at("17:00"))
    k2.use_package("C3", operator="c3", at=at("17:05"))
    k2.use_package("C3", operator="c3", at=at("23:59"))
    k2.use_package("C3", operator="c3", at=at("00:01", "2026-03-05"))          # tomorrow: not in the day
    chain.sync()
    purchases = (p1, p2, p3, p4)
    return {"chain": chain, "purchases": purchases, "refund": refund, "gift": gift, "undo": undo,
            "coupon": coupon, "topups": results, "members": (m2, m3)}


def recompute(records: list[dict], first: str, last: str) -> dict:
    """The second way: from each record's ``data`` (what the operation reported), not its effects."""
    from sync.hq.reports.period import local_day
    from zoneinfo import ZoneInfo
    zone = ZoneInfo("Asia/Shanghai")
    c = Counter()
    for r in records:
        if not first <= local_day(r["at"], zone).isoformat() <= last:
            continue
        d = r["data"]
        kind = r["kind"]
        if kind == "register":
            c["new_members"] += 1
        elif kind == "purchase":
            c["purchases"] += 1
            c["payable_fen"] += d["payable_fen"]
            c["paid_till_fen"] += d["external_fen"]
            c["paid_stored_value_fen"] += d["sv_principal_fen"] + d["sv_bonus_fen"]
            c["points_cash_fen"] += d["points_cash_fen"]
            c["points_issued"] += d["points_earned"] + d["referral_points"]
            c["points_redeemed"] += d["points_cash_points"]
            c["coupons_used"] += len(d["coupons"])
        elif kind == "topup":
            c["sv_topped_up_principal_fen"] += d["amount_fen"]
            c["sv_topped_up_bonus_fen"] += d["bonus_fen"]
        elif kind == "topup_undo":
            c["sv_undone_fen"] += d["principal_fen"] + d["bonus_fen"]
        elif kind == "refund":
            c["refunds"] += 1
            c["refunded_fen"] += d["amount_fen"]
            c["sv_refunded_fen"] += d["sv_principal_fen"] + d["sv_bonus_fen"]
            c["points_clawed_back"] += d["points_taken"]
        elif kind == "redeem":
            c["gifts_redeemed"] += 1
            c["points_redeemed"] += d["points"]
        elif kind == "adjust":
            c["points_issued"] += max(d["points"], 0)
        elif kind == "coupon_issue":
            c["coupons_issued"] += 1
        elif kind == "package_sell":
            c["packages_sold"] += 1
        elif kind == "package_use":
            c["package_uses"] += 1
    return c


def test_daily_summary_reconciles_with_the_journal(trading_day):
    chain = trading_day["chain"]
    report = summary(chain.db.conn, parse_period(DAY))
    expected = recompute(chain.records(), DAY, DAY)
    for key, value in expected.items():
        assert report["chain"][key] == value, key
    p1, p2, p3, p4 = trading_day["purchases"]
    assert report["chain"]["purchases"] == 4 and report["chain"]["new_members"] == 2
    assert report["stores"]["s1"]["paid_stored_value_fen"] == p1["sv_principal_fen"] + p1["sv_bonus_fen"] > 0
    assert report["chain"]["points_cash_points"] == 2000 and report["chain"]["points_cash_fen"] == 2000
    assert report["chain"]["package_uses"] == 2           # the one after local midnight is tomorrow's
    assert report["chain"]["sv_undone_fen"] == 20000 and report["chain"]["coupons_used"] == 1
    # stores and cashiers add up to the chain
    for key, value in report["chain"].items():
        assert sum(s[key] for s in report["stores"].values()) == value, key
        assert sum(c[key] for c in report["cashiers"]) == value, key
    by_cashier = {(c["store_id"], c["operator"]): c for c in report["cashiers"]}
    assert by_cashier[("s1", "c2")]["new_members"] == 1 and by_cashier[("s1", "c2")]["sv_topups"] == 1
    assert by_cashier[("s1", "m1")]["refunds"] == 1
    mug = next(g for g in report["gifts"] if g == {**g, "store_id": "s1", "sku": "GIFT-MUG"})
    assert mug["redeemed"] == 1 and mug["stock_now"] == 9


def test_monthly_summary_is_the_sum_of_its_days(trading_day):
    chain = trading_day["chain"]
    month = summary(chain.db.conn, parse_period("2026-03"))
    assert set(month["days"]) == {"2026-03-03", DAY, "2026-03-05"}
    for key, value in month["chain"].items():
        assert sum(d[key] for d in month["days"].values()) == value
    assert month["chain"] == {**recompute(chain.records(), "2026-03-01", "2026-03-31"),
                              **{k: v for k, v in month["chain"].items()
                                 if k not in recompute(chain.records(), "2026-03-01", "2026-03-31")}}
    text = render("table", month, summary_tables(month))
    assert "Paid from stored value" in text and "s2" in text
    assert render("csv", month, summary_tables(month, "zh")).splitlines()[1].startswith("figure,chain,s1,s2")


def test_liability_as_of_a_day_matches_the_balances(trading_day):
    chain = trading_day["chain"]
    conn = chain.db.conn
    now = liability(conn, date(2026, 3, 31))
    principal, bonus, debt = conn.execute(
        "SELECT SUM(principal_fen), SUM(bonus_fen), SUM(points_debt) FROM members").fetchone()
    (lots,) = conn.execute("SELECT SUM(remaining) FROM lots").fetchone()
    assert (now["chain"]["principal_fen"], now["chain"]["bonus_fen"]) == (principal, bonus)
    assert now["chain"]["points"] == lots - debt
    assert now["chain"]["points_value_fen"] == now["chain"]["points"]   # 100 points = 1 yuan
    before = liability(conn, date(2026, 3, 3))
    assert before["chain"]["members"] == 1
    assert (before["chain"]["principal_fen"], before["chain"]["bonus_fen"]) == (100000, 15000)
    assert set(now["stores"]) == {"s1", "s2"}
    above = members_above(conn, date(2026, 3, 31), 50000)
    assert [a["store_id"] for a in above] == ["s1", "s1"]
    assert above[0]["stored_value_fen"] > above[1]["stored_value_fen"] > 50000
