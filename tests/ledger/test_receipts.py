"""Claiming points from a POS receipt: once chain-wide, within the claim window, earned as on the day."""
from datetime import datetime, timezone

import pytest

from kiosk.ledger import Refused, verify

WED_RECEIPT = int(datetime(2026, 11, 4, 2, 0, tzinfo=timezone.utc).timestamp())   # Wed 10:00 Shanghai


def claim(led, card="C1", pos="P1", fen=12850, issued=WED_RECEIPT, at="2026-11-05T10:00"):
    return led.claim_receipt(card, store_id="s1", pos_txn=pos, amount_fen=fen, issued_at=issued, at=at)


def test_receipt_earns_as_on_its_day_and_only_once(led, member):
    assert claim(led)["points"] == 256                      # Wednesday: double points
    view = led.member_view(member, at="2026-11-05T11:00")
    assert view["points"] == 256 and view["qualifying"] == 12850
    with pytest.raises(Refused, match="already claimed"):
        claim(led)
    assert led.member_view(member, at="2026-11-05T11:00")["points"] == 256
    assert verify(led.conn) == []


def test_old_or_future_receipts_are_refused(led, member):
    with pytest.raises(Refused) as old:
        claim(led, at="2026-12-05T10:01")                    # 31 days later
    assert old.value.code == "receipt_too_old"
    with pytest.raises(Refused):
        claim(led, at="2026-11-03T10:00")                    # before the receipt was printed


def test_two_offline_kiosks_claiming_one_receipt_make_a_debt_at_head_office(offline_pair):
    kiosks, hq, _member = offline_pair("C1")
    first, second = (claim(k) for k in kiosks)
    assert hq.ingest(kiosks[0].tx_record(first["tx_id"]), strict=False) == (True, [])
    applied, shortfalls = hq.ingest(kiosks[1].tx_record(second["tx_id"]), strict=False)
    assert applied and shortfalls[0]["what"] == "receipt" and shortfalls[0]["short"] == 256
    view = hq.member_view("C1", at="2026-11-05T11:00")
    assert view["points"] == 256 and view["points_debt"] == 256      # the duplicate is owed back


def test_head_office_assigned_member_ids_and_lookups(led):
    led.register(name="B", phone="13900000000", card_id="C9", member_id="M123ABC", operator="admin")
    assert led.card_for_member("M123ABC") == "C9" and led.card_for_member("M0") is None
    with pytest.raises(Refused, match="already exists"):
        led.register(name="B", phone="13900000000", card_id="C10", member_id="M123ABC", operator="admin")
    led.add_staff("s1", "Ann", "cashier", "1234", "STAFF-1")
    assert led.staff_for_card("STAFF-1") == {"staff_id": "s1", "name": "Ann", "role": "cashier"}
    assert led.staff_for_card("C9") is None
