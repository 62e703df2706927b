"""The optional stored-value cap (prepaid-card rules): a top-up that would take the principal above
it is refused and changes nothing; without a cap nothing is refused."""
import pytest

from kiosk.ledger import REFERENCE_RULES, Refused, RulesError, load_rules

CAPPED = REFERENCE_RULES.read_text().replace("undo_window_minutes = 30", 'undo_window_minutes = 30\ncap = "5000.00"')


def test_top_up_above_the_cap_is_refused(led, member):
    led.init(CAPPED)
    led.topup(member, 400000, operator="admin", at="2026-11-02T10:00")      # 4000 + 150 bonus
    with pytest.raises(Refused) as refused:
        led.topup(member, 100001, operator="admin", at="2026-11-02T10:01")
    assert refused.value.code == "stored_value_cap" and "at most 1000.00 more" in str(refused.value)
    assert led.conn.execute("SELECT principal_fen, bonus_fen FROM members").fetchone() == (400000, 15000)
    led.topup(member, 100000, operator="admin", at="2026-11-02T10:02")      # exactly to the cap (bonus aside)
    assert led.conn.execute("SELECT principal_fen FROM members").fetchone() == (500000,)


def test_no_cap_by_default_and_a_bad_cap_is_named(led, member):
    assert load_rules(REFERENCE_RULES.read_text()).stored_value_cap_fen == 0
    led.topup(member, 10_000_000, operator="admin", at="2026-11-02T10:00")
    with pytest.raises(RulesError, match="stored_value.cap"):
        load_rules(CAPPED.replace('cap = "5000.00"', 'cap = "-1"'))
