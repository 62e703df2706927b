"""Printed coupons (KC1 campaign + serial): redeemable once chain-wide by whoever holds one."""
import pytest

from kiosk.ledger import NotFound, Refused, lines_from_amount, verify

MON, TUE = "2026-11-02T10:00", "2026-11-03T10:00"


def buy(led, card, printed, at=MON, **kw):
    return led.purchase(card, lines_from_amount(10000), printed_coupons=printed, operator="admin", at=at, **kw)


def test_a_printed_coupon_needs_no_issued_coupon_and_is_used_once(led, member):
    led.register(name="李四", phone="13900139000", card_id="C2", operator="admin", at=MON)
    assert led.member_view(member, at=MON)["coupons"] == []
    assert led.preview_purchase(member, lines_from_amount(10000), printed_coupons=[("V20", 17)],
                                at=MON).coupon_discount_fen == 2000
    first = buy(led, member, [("V20", 17)])
    assert (first["coupon_discount_fen"], first["payable_fen"]) == (2000, 8000)
    for card in (member, "C2"):                      # the same serial again, by anyone: refused
        with pytest.raises(Refused) as again:
            buy(led, card, [("V20", 17)], at=TUE)
        assert again.value.code == "coupon_used"
    assert buy(led, "C2", [("V20", 18)], at=TUE)["coupon_discount_fen"] == 2000
    with pytest.raises(NotFound):
        buy(led, "C2", [("NOPE", 1)], at=TUE)
    with pytest.raises(Refused):                     # one serial twice in one purchase
        led.purchase("C2", lines_from_amount(10000), printed_coupons=[("C10", 5), ("C10", 5)], operator="admin",
                     at=TUE)
    claims = led.conn.execute("SELECT campaign, serial FROM coupon_claims ORDER BY serial").fetchall()
    assert claims == [("V20", 17), ("V20", 18)] and verify(led.conn) == []


def test_two_offline_kiosks_using_one_printed_coupon_make_a_debt_at_head_office(offline_pair):
    kiosks, hq, member_id = offline_pair("C1", MON)
    first, second = (buy(k, "C1", [("V20", 99)]) for k in kiosks)
    assert hq.ingest(kiosks[0].tx_record(first["tx_id"]), strict=False) == (True, [])
    applied, shortfalls = hq.ingest(kiosks[1].tx_record(second["tx_id"]), strict=False)
    assert applied and shortfalls == [{"what": "coupon", "campaign": "V20", "serial": 99,
                                       "member_id": member_id, "short": 2000}]
    view = hq.member_view("C1", at=TUE)
    assert view["principal_fen"] == -2000            # the second discount is owed back
