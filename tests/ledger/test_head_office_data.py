"""What the ledger keeps for and from head office, through its methods (the sync agent's only way in):
the balance a member is shown (DESIGN rule 7), the outbox, rules, staff and the block list."""
import pytest

from kiosk.ledger import Refused, RulesError


def confirmed(led, hwm: int, member_id: str, principal: int, as_of: int = 7) -> int:
    balance = {"member_id": member_id, "as_of": as_of, "points": 0, "points_debt": 0, "principal_fen": principal,
               "bonus_fen": 0, "tier": "standard", "status": "active"}
    return led.confirm(hwm, [balance])


def test_the_member_is_shown_head_office_balance_plus_this_kiosks_unconfirmed_transactions(led, member):
    view = led.member_view(member)
    assert view["shown_balance"] is None                    # nothing confirmed yet: the screen shows the local one
    led.topup(member, 10000, operator="admin")
    hwm = len(led.journal())
    # head office knows of 30 yuan more (a top-up at another kiosk this one has not heard of yet)
    assert confirmed(led, hwm, view["member_id"], 13000) == hwm
    assert led.unsent() == []
    before = led.member_view(member)
    led.topup(member, 5000, operator="admin")              # not confirmed yet
    after = led.member_view(member)
    assert [r["kind"] for _, r in led.unsent()] == ["topup"]
    added = after["principal_fen"] + after["bonus_fen"] - before["principal_fen"] - before["bonus_fen"]
    assert added >= 5000
    assert after["shown_balance"]["stored_value_fen"] == 13000 + added
    assert after["shown_balance"]["as_of"] == 7


def test_a_confirmation_never_marks_past_what_was_sent_nor_an_older_balance_over_a_newer(led, member):
    member_id = led.member_view(member)["member_id"]
    sent = len(led.journal())
    assert confirmed(led, sent + 50, member_id, 100, as_of=9) == sent
    confirmed(led, sent, member_id, 999, as_of=8)           # a late, older confirmation
    assert led.confirmed_balance(member_id)["principal_fen"] == 100


def test_head_office_block_list_and_staff_replace_the_kiosks(led, member):
    led.replace_block_list([{"card_id": member, "reason": "lost"}])
    with pytest.raises(Refused, match="held by head office: lost"):
        led.member_for_card(member)
    led.replace_block_list([])
    assert led.member_for_card(member)["card_status"] == "active"
    led.replace_staff([{"staff_id": "s9", "name": "Wang", "role": "cashier", "card_id": "S9", "pin_hash": "x$y$z"}])
    assert led.staff_for_card("S9") == {"staff_id": "s9", "name": "Wang", "role": "cashier"}
    led.replace_staff([])
    assert led.staff_for_card("S9") is None


def test_rules_that_do_not_load_are_refused_and_nothing_changes(led):
    before = led.rules.digest
    with pytest.raises(RulesError):
        led.set_rules("[tiers]\nbasis = 'nonsense'\n")
    assert led.rules.digest == before
