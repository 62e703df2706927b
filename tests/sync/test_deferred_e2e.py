"""Deferred earning over a real broker: a kiosk of another store records a purchase on the strength of a
version-2 card token; the hub credits the points; the member's home-store kiosk shows them."""
from __future__ import annotations

from kiosk.ledger import lines_from_amount, verify
from sync.hq import deferred

from .conftest import confirmed_all, wait_for
from .test_deferred_earning import TOKEN_KEY, token_hex


def test_another_stores_kiosk_records_and_the_home_kiosk_shows_the_points(broker, start_hub, make_kiosk, start_agent):
    home, away = make_kiosk("k1", "s1"), make_kiosk("k2", "s2")
    start_hub(broker.url, token_key=TOKEN_KEY.public_key())
    start_agent(home, broker.url)
    start_agent(away, broker.url)
    member = home.register(name="Li Lei", phone="13800001111", card_id="CARD-A", operator="admin")["member_id"]
    wait_for(lambda: confirmed_all(home), what="the registration at head office")
    before = home.member_view("CARD-A")["points"]
    made = away.purchase_deferred("CARD-A", member, token_hex("CARD-A", member), lines_from_amount(12_300),
                                  operator="admin")
    wait_for(lambda: confirmed_all(away), what="the deferred purchase at head office")
    assert away.conn.execute("SELECT COUNT(*) FROM cards").fetchone() == (0,)     # still holds no member
    wait_for(lambda: home.conn.execute("SELECT 1 FROM journal WHERE tx_id = ?",
                                       (deferred.credit_tx_id(made["tx_id"]),)).fetchone(), what="the credit at k1")
    assert home.member_view("CARD-A")["points"] > before
    assert verify(home.conn) == [] and verify(away.conn) == []
