"""A card flickering at the edge of the field is one tap, not several."""
from drivers.debounce import PRESENTED, REMOVED, TapDebouncer

A, B = b"\x01" * 7, b"\x02" * 7


def test_a_flicker_shorter_than_the_grace_is_still_the_same_tap():
    d = TapDebouncer(grace=0.5)
    assert d.seen(A, 0.0) == [(PRESENTED, A)]
    assert d.absent(1.0) == []
    assert d.absent(1.3) == []
    assert d.seen(A, 1.4) == []
    assert d.absent(2.0) == []
    assert d.absent(2.6) == [(REMOVED, A)]


def test_a_card_that_stays_away_ends_the_tap_once():
    d = TapDebouncer(grace=0.5)
    d.seen(A, 0.0)
    d.absent(1.0)
    assert d.absent(1.5) == [(REMOVED, A)]
    assert d.absent(3.0) == []
    assert d.seen(A, 4.0) == [(PRESENTED, A)]


def test_another_card_ends_the_first_tap_at_once():
    d = TapDebouncer(grace=0.5)
    d.seen(A, 0.0)
    assert d.seen(B, 0.1) == [(REMOVED, A), (PRESENTED, B)]
    assert d.flush() == [(REMOVED, B)]
    assert d.flush() == []
