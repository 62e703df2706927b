"""Strict parsing of amounts and rules: never a float, never a crash, always a named reason."""
import pytest
from hypothesis import given, strategies as st

from kiosk.ledger import REFERENCE_RULES, InvalidInput, RulesError, load_rules, parse_fen
from kiosk.ledger.money import format_fen


@pytest.mark.parametrize("text, fen", [("128.50", 12850), ("128.5", 12850), ("0.01", 1), ("500", 50000),
                                       (" 7.00 ", 700)])
def test_good_amounts(text, fen):
    assert parse_fen(text) == fen


@pytest.mark.parametrize("text", ["12.345", "-1", "1e3", "1,000", "", "0", "0.00", ".5", "5.", "NaN", "１２", "+5"])
def test_bad_amounts(text):
    with pytest.raises(InvalidInput):
        parse_fen(text)


@given(st.text(max_size=20))
def test_any_text_parses_or_is_refused(text):
    try:
        fen = parse_fen(text)
    except InvalidInput:
        return
    assert fen > 0 and parse_fen(format_fen(fen)) == fen


@given(st.integers(1, 10**9))
def test_format_round_trips(fen):
    assert parse_fen(format_fen(fen)) == fen


def test_reference_rules_encode_the_programme():
    rules = load_rules(REFERENCE_RULES.read_text())
    assert [(t.id, t.threshold, int(t.discount_percent)) for t in rules.tiers] == [
        ("registered", 0, 0), ("normal", 100000, 5), ("silver", 500000, 8), ("gold", 1000000, 10)]
    assert [(s.from_fen, s.bonus_fen) for s in rules.bonus_steps] == [(50000, 5000), (100000, 15000)]
    assert (rules.checkin_points, rules.referral_points, rules.undo_window_minutes) == (5, 100, 30)
    assert (rules.cash_points_per_yuan, rules.cash_max_share_percent) == (100, 50)
    assert {(g.sku, g.points, g.stock) for g in rules.gifts} == {("GIFT-MUG", 800, 10), ("GIFT-BAG", 2000, 5)}


@pytest.mark.parametrize("patch, key", [
    (("per_yuan = \"1\"", "per_yuan = \"one\""), "points.per_yuan"),
    (("months = 12", "months = -1"), "points.expiry.months"),
    (("threshold = \"1000.00\"", "threshold = \"1000.001\""), "tiers.levels[1].threshold"),
    (("points = 800", "points = 800\ncolour = \"red\""), "gifts[0].colour"),
    (("kind = \"voucher\"", "kind = \"gift\""), "coupons[2].kind"),
    (("threshold = \"5000.00\"", "threshold = \"500.00\""), "thresholds must rise"),
])
def test_bad_rules_name_the_key(patch, key):
    text = REFERENCE_RULES.read_text().replace(*patch, 1)
    with pytest.raises(RulesError, match=key.replace("[", r"\[").replace("]", r"\]")):
        load_rules(text)
