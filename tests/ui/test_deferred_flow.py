"""Another store's member at the counter: their card's version-2 token names them, this kiosk does not
hold them, and the cashier records a purchase whose points head office credits (no window)."""
from __future__ import annotations

from drivers.cards import CardVerifier
from drivers.tokens import make_member_token
from kiosk import demo_data as demo
from kiosk.ui import services

UID = bytes.fromhex("04112233445566")


def tap_stranger(desk, member_id="M-OTHER-STORE") -> None:
    """What the input pump does with the tap: verify the token, then read the card with its proof."""
    verdict = CardVerifier.from_config(demo.demo_config()["cards"]).check(
        UID, make_member_token(demo.TOKEN_KEY, "C-OTHER-1", 1_790_000_000, UID, member_id=member_id))
    desk.run_card(services.read_card(desk.ledger, verdict.card_id, proof=(verdict.member_id, verdict.token)))


def test_the_cashier_records_a_purchase_head_office_credits(desk):
    desk.sign_in(demo.CASHIER, "1234")
    tap_stranger(desk)
    assert desk.screen == "purchase"
    assert desk.data["available"] == "Member of another store: paid at the till, points credited by head office."
    for key in "88":
        desk.sale.key(key)
    desk.sale.payment("stored-value")            # not for a member this kiosk does not hold
    desk.sale.choose("points")
    assert (desk.data["pay"], desk.data["field"], desk.data["ready"]) == ("external", "amount", True)
    desk.sale.confirm()
    assert desk.last_notice == "Paid ¥88.00. Head office will credit the points."
    assert desk.screen == "staff" and desk.visit.member is None
    record = next(r for r in reversed(desk.ledger.journal()) if r["kind"] == "purchase_deferred")
    assert (record["member_id"], record["effects"], record["operator"]) == ("M-OTHER-STORE", [], "cashier01")
    assert record["inputs"]["args"]["card_id"] == "C-OTHER-1"


def test_the_member_alone_is_told_to_ask_staff(desk):
    tap_stranger(desk)
    assert desk.notices[-1] == ("info", "Your card is from another store. Staff can record your purchase here;"
                                        " head office adds the points.")
    assert not any(r["kind"] == "purchase_deferred" for r in desk.ledger.journal())


def test_a_card_this_kiosk_holds_is_served_as_usual_even_with_a_token_naming_a_member(desk):
    desk.run_card(services.read_card(desk.ledger, demo.ALICE.card_id, proof=("M-ANY", "00")))
    assert desk.screen == "member"


def test_in_the_real_window(kiosk, ledger):
    """The same with the demo panel's card of another store's member, tapped on the simulated reader of
    the running app (offline: no head office to ask)."""
    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.tap(demo.VISITOR)
    assert "其他门店会员：在收银台付款，积分由总部补记。" in kiosk.text()
    kiosk.keys("88")
    kiosk.press("pay-stored-value", "confirm")            # stored value is disabled for this member
    assert "已付 ¥88.00。积分将由总部补记。" in kiosk.text()
    record = next(r for r in reversed(ledger.journal()) if r["kind"] == "purchase_deferred")
    assert (record["member_id"], record["effects"], record["data"]["amount_fen"]) == ("M0000000000VISITOR", [], 8800)
