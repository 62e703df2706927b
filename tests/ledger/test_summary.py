"""The day summary reconciles: every movement of money and points on the day appears in it, and its
totals equal an independent sum over that day's journal."""
import json
from datetime import datetime

from kiosk.ledger import lines_from_amount
from kiosk.ledger.rules import PackagePlan

DAY = "2026-11-03"          # a Tuesday in Asia/Shanghai


def at(hhmm: str) -> str:
    return f"{DAY}T{hhmm}"


def _day_records(led):
    records = [json.loads(r) for (r,) in led.conn.execute("SELECT record FROM journal ORDER BY seq")]
    return [r for r in records
            if datetime.fromisoformat(r["at"].replace("Z", "+00:00")).astimezone(led.tz).date().isoformat() == DAY]


def test_summary_equals_an_independent_sum_over_the_days_journal(led, member):
    a = dict(operator="admin")
    led.register(name="王五", phone="13700137000", card_id="C0", at="2025-10-15T09:00", **a)
    led.purchase("C0", lines_from_amount(50000), at="2025-10-15T10:00", **a)         # a lot that expires on 10-31
    led.register(name="李四", phone="13900139000", card_id="C2", referrer_card=member, at=at("08:55"), **a)
    cash_in = cash_out = 0
    top = led.topup(member, 50000, at=at("09:00"), **a)
    cash_in += 50000
    cash_out += led.undo_topup(top["tx_id"], reason="wrong amount", at=at("09:01"), **a)["principal_fen"]
    led.topup(member, 100000, at=at("09:02"), **a)
    cash_in += 100000
    led.expire(at=at("09:03"))
    bought = led.purchase(member, lines_from_amount(30000), pay="stored-value", at=at("09:10"), **a)
    cash_in += bought["payable_fen"] - bought["sv_principal_fen"] - bought["sv_bonus_fen"]
    first = led.purchase("C2", lines_from_amount(20000), at=at("09:20"), **a)   # pays the referrer too
    cash_in += first["payable_fen"]
    cash_out += led.refund(first["tx_id"], 15000, at=at("09:30"), **a)["external_fen"]
    led.refund(bought["tx_id"], 10000, at=at("09:31"), **a)
    plan = PackagePlan(code="P", name="Wash", uses=3, price_fen=9000, valid_days=30)
    led.sell_package(member, plan, pay="stored-value", at=at("09:40"), **a)
    led.sell_package("C2", plan, at=at("09:41"), **a)
    cash_in += 9000
    led.use_package("C2", at=at("09:42"), **a)
    led.checkin(member, at=at("09:50"))
    led.adjust(member, 800, reason="welcome", at=at("09:51"), **a)
    led.redeem(member, "GIFT-MUG", at=at("09:52"), **a)
    led.adjust(member, -10, reason="correction", at=at("09:53"), **a)
    cash_out += led.close_account(member, reason="moving away", at=at("10:00"), **a)["refund_principal_fen"]
    led.topup("C2", 10000, at="2026-11-04T10:00", **a)                              # another day: not counted

    summary = led.day_summary(at=at("23:59"))
    records = _day_records(led)
    effects = [e for r in records for e in r["effects"]]

    def total(op, field):
        return sum(e[field] for e in effects if e["op"] == op)
    points_net = total("lot.add", "points") - total("lot.take", "points") - total("debt", "delta")
    assert points_net == (summary["points_issued"] + summary["points_debt_repaid"] - summary["points_debt_added"]
                          - summary["points_redeemed"] - summary["points_refunded"] - summary["points_expired"]
                          - summary["points_forfeited"] - summary["points_adjusted_off"])
    assert summary["points_expired"] > 0 and summary["points_forfeited"] > 0 and summary["points_refunded"] > 0
    stored_net = sum(e["principal"] + e["bonus"] for e in effects if e["op"] == "sv")
    assert stored_net == summary["stored_value_in_fen"] - summary["stored_value_out_fen"]
    assert (summary["cash_in_fen"], summary["cash_out_fen"]) == (cash_in, cash_out)
    kinds = [r["kind"] for r in records]
    assert summary["transactions"] == len(records)
    assert {field: summary[field] for field in ("purchases", "refunds", "topups", "topup_undos", "package_sales",
                                                "package_uses", "closes", "gifts", "checkins", "adjustments")} == {
        "purchases": 2, "refunds": 2, "topups": 2, "topup_undos": 1, "package_sales": 2, "package_uses": 1,
        "closes": 1, "gifts": 1, "checkins": 1, "adjustments": 2}
    assert kinds.count("purchase") == 2
    assert summary["refund_fen"] == 25000 and summary["package_sales_fen"] == 18000
    assert summary["topup_undo_fen"] == 50000 + led.topup_bonus(50000)
    assert summary["close_refund_fen"] == cash_out - 50000 - 15000


def test_the_staff_summary_screen_shows_refunds_undos_closes_and_package_sales(led, member):
    from kiosk.ui.staff_presenter import present_summary
    a = dict(operator="admin")
    top = led.topup(member, 50000, at=at("09:00"), **a)
    led.undo_topup(top["tx_id"], reason="wrong amount", at=at("09:01"), **a)
    bought = led.purchase(member, lines_from_amount(12300), at=at("09:10"), **a)
    led.refund(bought["tx_id"], 4500, at=at("09:11"), **a)
    led.sell_package(member, PackagePlan(code="P", name="Wash", uses=3, price_fen=9900, valid_days=30),
                     at=at("09:12"), **a)
    led.topup(member, 7700, at=at("09:13"), **a)
    led.close_account(member, reason="moving away", at=at("09:14"), **a)
    shown = present_summary(led.day_summary(at=at("12:00")), {}, {}, {"reachable": False, "backlog": 0,
                            "last_contact": None}, [], lambda text: text,
                            lambda one, many, n: one if n == 1 else many, led.tz, "en")
    figures = {f["text"]: f["detail"] for f in shown["figures"]}
    assert figures["Refunds"] == "1 · ¥45.00" and figures["Top-ups undone"] == "1 · ¥550.00"
    assert figures["Packages sold"] == "1 · ¥99.00" and figures["Accounts closed"] == "1 · ¥77.00"
    assert figures["Cash in / out"] == "¥799.00 / ¥622.00"
