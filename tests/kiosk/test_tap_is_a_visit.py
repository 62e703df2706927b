"""A member's tap at the kiosk is a visit: what is due is paid before their screen is drawn."""
from pathlib import Path

from kiosk.ledger import Ledger, lines_from_amount
from kiosk.ui import services

FULL = (Path(__file__).parents[2] / "examples" / "rules-full.toml").read_text()


def test_tap_in_the_birthday_month_shows_the_birthday_coupon(tmp_path):
    led = Ledger.create(tmp_path / "k.db", rules_text=FULL, at="2026-01-01T08:00")
    led.register(name="A", phone="13800000001", card_id="A", birthday="1990-05-17", operator="admin",
                 at="2026-11-01T09:00")
    led.purchase("A", lines_from_amount(100_000), operator="admin", at="2026-11-02T10:00")   # normal tier
    led.topup("A", 100_000, operator="admin", at="2027-04-20T10:00")
    first = services.read_card(led, "A", at="2027-05-03T10:00")
    assert [c["code"] for c in first["view"]["coupons"]] == ["BDAY-20"]
    assert first["view"]["bonus_fen"] == 10_000                       # parts 1 and 2 of the top-up bonus
    again = services.read_card(led, "A", at="2027-05-04T10:00")
    assert [c["code"] for c in again["view"]["coupons"]] == ["BDAY-20"]
    assert [r["kind"] for r in again["view"]["history"][:2]] == ["benefits", "topup"]
    led.close()
