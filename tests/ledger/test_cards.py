"""A member has exactly one live card, on the kiosk and at head office."""
import pytest

from kiosk.ledger import Refused, lines_from_amount, verify

MON, TUE = "2026-11-02T10:00", "2026-11-03T10:00"


def test_a_replaced_card_cannot_be_replaced_again(led, member):
    led.topup(member, 10000, operator="admin", at=MON)
    led.report_lost(member, operator="admin", at=MON)
    led.replace_card(member, "R2", operator="admin", at=MON)
    with pytest.raises(Refused) as second:
        led.replace_card(member, "R3", operator="admin", at=TUE)
    assert second.value.code == "card_not_current"
    with pytest.raises(Exception):
        led.purchase("R3", lines_from_amount(1000), pay="stored-value", operator="admin", at=TUE)
    led.purchase("R2", lines_from_amount(1000), pay="stored-value", operator="admin", at=TUE)
    live = led.conn.execute("SELECT card_id FROM cards WHERE status = 'active'").fetchall()
    assert live == [("R2",)] and verify(led.conn) == []


def test_two_offline_kiosks_replacing_one_card_leave_one_live_card_at_head_office(offline_pair):
    kiosks, hq, member_id = offline_pair("R1", MON)
    first = kiosks[0].replace_card("R1", "R2", operator="admin", at=TUE)
    second = kiosks[1].replace_card("R1", "R3", operator="admin", at=TUE)
    assert hq.ingest(kiosks[0].tx_record(first["tx_id"]), strict=False) == (True, [])
    applied, shortfalls = hq.ingest(kiosks[1].tx_record(second["tx_id"]), strict=False)
    assert applied and shortfalls == [{"what": "card", "card_id": "R3", "member_id": member_id,
                                       "live_card": "R2"}]
    assert hq.conn.execute("SELECT card_id FROM cards WHERE status = 'active'").fetchall() == [("R2",)]
    with pytest.raises(Refused):
        hq.member_for_card("R3")
