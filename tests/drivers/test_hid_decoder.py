"""Keystrokes from a keyboard-wedge scanner, as real evdev.InputEvents, back into scanned text."""
from evdev import InputEvent, ecodes as e

from drivers.hid_decode import KeyDecoder

DOWN, UP, HOLD = 1, 0, 2


def key(code, value):
    return InputEvent(1700000000, 0, e.EV_KEY, code, value)


def press(code):
    """What a scanner sends per key: MSC scan code, key down, SYN, key up, SYN."""
    return [InputEvent(0, 0, e.EV_MSC, e.MSC_SCAN, 0x70000 + code), key(code, DOWN),
            InputEvent(0, 0, e.EV_SYN, e.SYN_REPORT, 0), key(code, UP), InputEvent(0, 0, e.EV_SYN, e.SYN_REPORT, 0)]


def shifted(code):
    return [key(e.KEY_LEFTSHIFT, DOWN), *press(code), key(e.KEY_LEFTSHIFT, UP)]


def feed(decoder, events):
    return [text for text in map(decoder.feed, events) if text is not None]


def test_a_code_with_shifted_characters_ends_at_enter():
    events = [*shifted(e.KEY_K), *shifted(e.KEY_C), *press(e.KEY_1), *shifted(e.KEY_SEMICOLON),
              *shifted(e.KEY_S), *press(e.KEY_P), *press(e.KEY_MINUS), *press(e.KEY_4), *press(e.KEY_2),
              *press(e.KEY_ENTER)]
    assert feed(KeyDecoder(), events) == ["KC1:Sp-42"]


def test_tab_also_ends_a_code_and_codes_follow_each_other():
    events = [*press(e.KEY_1), *press(e.KEY_2), *press(e.KEY_TAB), *press(e.KEY_A), *press(e.KEY_KPENTER)]
    assert feed(KeyDecoder(), events) == ["12", "a"]


def test_right_shift_and_the_us_symbol_row():
    events = [key(e.KEY_RIGHTSHIFT, DOWN), *press(e.KEY_2), *press(e.KEY_3), *press(e.KEY_SLASH),
              key(e.KEY_RIGHTSHIFT, UP), *press(e.KEY_SLASH), *press(e.KEY_DOT), *press(e.KEY_ENTER)]
    assert feed(KeyDecoder(), events) == ["@#?/."]


def test_keypad_digits_and_autorepeat_count_as_keystrokes():
    events = [*press(e.KEY_KP4), key(e.KEY_KP0, DOWN), key(e.KEY_KP0, HOLD), key(e.KEY_KP0, UP),
              *press(e.KEY_KPMINUS), *press(e.KEY_ENTER)]
    assert feed(KeyDecoder(), events) == ["400-"]


def test_unknown_keys_and_a_bare_enter_produce_nothing():
    events = [*press(e.KEY_F5), *press(e.KEY_ENTER), *press(e.KEY_LEFTCTRL), *press(e.KEY_9), *press(e.KEY_ENTER)]
    assert feed(KeyDecoder(), events) == ["9"]


def test_an_endless_burst_without_enter_is_dropped_not_grown_forever():
    decoder = KeyDecoder(max_length=8)
    events = [*(ev for _ in range(20) for ev in press(e.KEY_7)), *press(e.KEY_ENTER)]
    texts = feed(decoder, events)
    assert len(texts) == 1 and set(texts[0]) == {"7"} and len(texts[0]) <= 8


def test_reset_forgets_a_half_typed_code_and_a_held_shift():
    decoder = KeyDecoder()
    feed(decoder, [key(e.KEY_LEFTSHIFT, DOWN), *press(e.KEY_A)])
    decoder.reset()
    assert feed(decoder, [*press(e.KEY_B), *press(e.KEY_ENTER)]) == ["b"]
