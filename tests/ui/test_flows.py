"""The counter's flows without a window: the same Desk the app draws, on a demo ledger called in-line.

Fast checks of what each task does to the ledger and what it puts on screen; the Xvfb tests beside
these prove the same flows in the real window.
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from kiosk import demo_data as demo
from kiosk.ledger import Approval, OfflineLimitsGuard, Spends, lines_from_amount


def last(ledger, kind: str) -> dict:
    return next(r for r in reversed(ledger.journal()) if r["kind"] == kind)


def serve(desk, card=demo.ALICE, staff=demo.CASHIER, pin="1234") -> None:
    desk.sign_in(staff, pin)
    desk.tap(card)


def test_member_checks_in_once_a_day(desk):
    desk.tap(demo.ALICE)
    assert (desk.screen, desk.data["points"], desk.data["name"]) == ("member", "120", "A*********")
    desk.members.checkin()
    assert desk.last_notice == "Checked in: +5 points" and desk.data["points"] == "125"
    assert last(desk.ledger, "checkin")["operator"] == "self"
    desk.members.checkin()
    assert desk.notices[-1] == ("error", "You have already checked in today. See you tomorrow!")
    assert desk.data["points"] == "125"


def test_member_home_shows_head_offices_balance_plus_this_kiosks_unconfirmed(desk):
    led = desk.ledger
    alice = led.member_view(demo.ALICE.card_id)
    desk.tap(demo.ALICE)                     # head office has confirmed nothing yet: the ledger's own figures
    assert (desk.data["points"], desk.data["balance"], desk.data["unconfirmed"]) == ("120", "¥550.00", "")
    led.confirm(10**9, [{"member_id": alice["member_id"], "as_of": 1, "points": 100, "points_debt": 0,
                         "principal_fen": 50000, "bonus_fen": 0, "tier": alice["tier"], "status": "active"}])
    desk.tap(demo.ALICE)                     # head office's correction is what the member sees
    assert (desk.data["points"], desk.data["balance"], desk.data["unconfirmed"]) == ("100", "¥500.00", "")
    desk.members.checkin()                   # a check-in head office has not confirmed yet
    assert (desk.data["points"], desk.data["unconfirmed"]) == ("105", "Includes unsynced transactions")


def test_a_late_answer_for_a_finished_visit_is_dropped(desk):
    desk.tap(demo.ALICE)
    desk.hold = True
    desk.members.checkin()                   # the answer is still on its way when the kiosk goes idle
    desk.on_idle()
    desk.answer()
    assert desk.screen == "attract" and desk.visit.member is None and desk.notices == []
    assert "A*********" not in str(desk.data)


def test_wrong_pin_is_shown_on_the_pin_screen_and_signs_nobody_in(desk):
    desk.sign_in(demo.CASHIER, "0000")
    assert desk.screen == "pin" and desk.data["error"] == "Wrong PIN. 4 tries left."
    assert desk.visit.staff is None


def test_purchase_with_coupon_from_stored_value(desk):
    card, led = demo.ALICE.card_id, desk.ledger
    before = led.member_view(card)
    expected = led.preview_purchase(card, lines_from_amount(30000), coupons=["M200-50"], pay="stored-value")
    serve(desk)
    desk.sale.start()
    for key in "300":
        desk.sale.key(key)
    desk.act("coupon", "M200-50")
    desk.sale.payment("stored-value")
    assert desk.data["payable"] == "¥250.00" and desk.data["ready"]
    desk.sale.confirm()
    assert desk.last_notice == f"Paid ¥250.00. {expected.points_earned} points earned."
    assert desk.screen == "staff"
    after = led.member_view(card)
    assert after["principal_fen"] + after["bonus_fen"] == before["principal_fen"] + before["bonus_fen"] - 25000
    assert after["coupons"] == [] and last(led, "purchase")["operator"] == "cashier01"


def test_a_second_confirm_while_the_first_is_in_flight_records_one_purchase(desk):
    serve(desk)
    desk.sale.start()
    for key in "30":
        desk.sale.key(key)
    purchases = sum(r["kind"] == "purchase" for r in desk.ledger.journal())
    desk.hold = True
    desk.sale.confirm()
    desk.sale.confirm()
    desk.answer()
    assert sum(r["kind"] == "purchase" for r in desk.ledger.journal()) == purchases + 1


def test_a_ledger_refusal_is_a_plain_message(desk):
    serve(desk, card=demo.LI)
    desk.gifts.open()
    desk.act("redeem", demo.BEANS_GTIN)
    desk.yes()
    desk.act("redeem", demo.BEANS_GTIN)      # 2,500 points: the second 1,500 is too many
    desk.yes()
    assert desk.notices[-1] == ("error", "Not enough points for this.")
    assert desk.ledger.member_view(demo.LI.card_id)["points"] == 1000


def test_replacing_a_card_waits_for_a_blank_one(desk):
    serve(desk)
    desk.cards.start()
    desk.cards.replace()
    desk.tap(demo.LI)                        # a card in use is refused, the wait goes on
    assert desk.notices[-1] == ("error", "This card is already in use. Please tap a blank card.")
    desk.tap(demo.BLANKS[0])
    assert desk.last_notice == "New card issued; the old card is blocked."
    assert desk.visit.card_id == demo.BLANKS[0].card_id and desk.visit.awaiting_card is None
    assert desk.screen == "staff" and last(desk.ledger, "card_replace")["operator"] == "cashier01"


def test_reporting_a_card_lost_stops_serving_its_member(desk):
    serve(desk)
    desk.cards.start()
    desk.cards.lost()
    desk.yes()
    assert desk.last_notice == f"Card {demo.ALICE.card_id} is blocked."
    assert desk.visit.member is None and desk.screen == "staff" and not desk.data["has_member"]


def test_reset_forgets_the_member_the_staff_and_what_was_typed(desk):
    serve(desk)
    desk.sale.start()
    desk.sale.key("5")
    desk.reset()
    assert desk.visit.member is None and desk.visit.staff is None and desk.sale.amount == ""
    assert desk.screen == "attract" and "A*********" not in str(desk.data)


# -- spends are the ledger's to guard: the flows show its refusal and nothing is written ----------
FULL_RULES = (Path(__file__).parents[2] / "examples" / "rules-full.toml").read_text()
NEVER_SYNCED = "Not yet connected to head office: nothing can be spent offline."


def chain_link():
    """What the entry point hands the UI on a device (sync.kiosk_link.KioskLink) as far as spends go:
    a guard that asks head office; none answers here, so the offline limits of a chain kiosk decide."""
    return SimpleNamespace(guard=OfflineLimitsGuard(chain=True))


def purchase(desk, amount: str, *, points: str = "", pay: str = "external") -> None:
    desk.sale.start()
    for key in amount:
        desk.sale.key(key)
    if points:
        desk.sale.choose("points")
        for key in points:
            desk.sale.key(key)
    desk.sale.payment(pay)
    desk.sale.confirm()


def sell_package(desk) -> None:
    desk.value.packages_start()
    desk.value.payment("stored-value")
    desk.act("sell", "WASH5")
    desk.yes()


def use_package(desk) -> None:
    desk.value.packages_start()
    desk.act("use", desk.visit.member["packages"][0]["package_id"])


def redeem_gift(desk) -> None:
    desk.gifts.open()
    desk.act("redeem", "GIFT-MUG")
    desk.yes()


def convert_points(desk) -> None:
    desk.points.start()
    for key in "500":
        desk.points.key(key)
    desk.points.confirm()


@pytest.mark.parametrize("card, spend", [
    (demo.ALICE, lambda desk: purchase(desk, "30", pay="stored-value")),
    (demo.LI, lambda desk: purchase(desk, "30", points="100")),
    (demo.ALICE, sell_package), (demo.LI, use_package), (demo.LI, redeem_gift), (demo.LI, convert_points),
], ids=["stored-value", "points-as-cash", "package-sale-from-stored-value", "package-use", "gift", "points-convert"])
def test_a_chain_kiosk_that_never_reached_head_office_spends_nothing(make_desk, card, spend):
    desk = make_desk(chain_link())
    if spend is convert_points:
        desk.ledger.init(FULL_RULES, at="2026-01-01T08:00")     # rules with point conversion (journaled)
    serve(desk, card=card)
    before = (desk.ledger.journal(limit=10**6), desk.ledger.member_view(card.card_id))
    spend(desk)
    assert desk.notices[-1] == ("error", NEVER_SYNCED)
    assert (desk.ledger.journal(limit=10**6), desk.ledger.member_view(card.card_id)) == before


def test_points_approved_offline_are_not_used_up_when_the_stored_value_is_refused(make_desk):
    """The issue's reproduction at the counter: the refused purchase writes nothing, so the member's
    whole points allowance for the day is still there for the next purchase."""
    desk = make_desk(chain_link())
    desk.ledger.set_offline_limits({"window_hours": 24,
                                    "fen": {"per_tx": 1000, "member_day": 1000, "kiosk_total": 10**6},
                                    "points": {"per_tx": 100, "member_day": 100, "kiosk_total": 10**6}})
    desk.ledger.heard_from_head_office()
    serve(desk)
    before = desk.ledger.member_view(demo.ALICE.card_id)
    purchase(desk, "30", points="100", pay="stored-value")     # ¥29 from stored value: over ¥10 offline
    assert desk.notices[-1] == ("error", "Offline, this is more than one transaction may spend.")
    assert desk.ledger.member_view(demo.ALICE.card_id) == before
    purchase(desk, "30", points="100")                          # at the till: the 100 points still allowed
    assert desk.last_notice.startswith("Paid ¥29.00.")
    assert desk.ledger.member_view(demo.ALICE.card_id)["points"] < before["points"]


class ApprovesAnOlderQuote:
    """Head office approving what the purchase cost when it was asked about a smaller one."""

    def approve(self, ledger, member, card_id, spends):
        return Approval(True, True, "approved", Spends(stored_value_fen=spends.stored_value_fen - 100))


def test_a_spend_bigger_than_approved_is_refused_plainly_and_writes_nothing(make_desk):
    desk = make_desk(SimpleNamespace(guard=ApprovesAnOlderQuote()))
    serve(desk)
    before = desk.ledger.member_view(demo.ALICE.card_id)
    purchase(desk, "30", pay="stored-value")
    assert desk.notices[-1] == ("error", "The balance changed while this was being approved. Please try again.")
    assert desk.ledger.member_view(demo.ALICE.card_id) == before
