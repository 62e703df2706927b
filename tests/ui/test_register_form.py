"""The registration form without a keyboard: pinyin candidates, the keypad, the date picker, consent."""
from __future__ import annotations

from datetime import date

from hypothesis import given, strategies as st
from pypinyin import Style, pinyin as readings

from kiosk.ui import pinyin
from kiosk.ui.register_form import RegisterForm, step_date

TODAY = date(2026, 11, 30)


def test_every_table_entry_reads_as_its_syllable():
    wrong = [(key, char) for key, chars in pinyin.TABLE.items() for char in chars
             if key not in {r.replace("ü", "v") for r in readings(char, style=Style.NORMAL, heteronym=True)[0]}]
    assert wrong == []


def test_pinyin_candidates_split_a_whole_name():
    assert pinyin.candidates("zhangsan")[0] == "张"
    assert pinyin.pick("zhangsan", "张") == "san" and "三" in pinyin.candidates("san")
    assert "张" in pinyin.candidates("zh") and "周" in pinyin.candidates("zh")     # an unfinished syllable
    assert pinyin.candidates("vvv") == []


def test_a_name_typed_in_pinyin_and_in_latin_letters():
    form = RegisterForm()
    for key in "liuxiang":
        form.name_key(key)
    form.choose("刘")
    form.choose("翔")
    assert (form.name, form.letters) == ("刘翔", "")
    form = RegisterForm()
    form.name_key("mode")
    for key in ["a", "l", "i", "c", "e", "space", "w", "a", "n", "g", "space", "space"]:
        form.name_key(key)
    assert form.name == "Alice Wang "
    assert form.register_args()["name"] == "Alice Wang"


def test_the_card_waits_for_a_mobile_number_and_consent_the_name_is_optional():
    form = RegisterForm()
    for key in "23512345678":
        form.phone_key(key)
    assert form.missing == ["phone", "consent"]
    form.phone_key("clear")
    for key in "135123456789":                    # a twelfth digit is not taken
        form.phone_key(key)
    assert form.view()["phone"] == "135 1234 5678"
    form.toggle_consent()
    assert form.missing == []
    assert form.register_args() == {"name": "", "phone": "13512345678", "birthday": None}
    form.choose("赵")
    assert form.register_args() == {"name": "赵", "phone": "13512345678", "birthday": None}


def test_date_picker_steps_stay_on_real_days_up_to_today():
    assert step_date(date(2000, 1, 31), "month", 1, TODAY) == date(2000, 2, 29)
    assert step_date(date(2001, 1, 31), "month", 1, TODAY) == date(2001, 2, 28)
    assert step_date(date(2020, 12, 31), "day", 1, TODAY) == date(2020, 12, 1)      # the day wraps in its month
    assert step_date(date(2020, 6, 1), "year", 10, TODAY) == date(2026, 6, 1)
    assert step_date(date(2026, 11, 1), "month", 1, TODAY) == TODAY


@given(st.dates(date(1900, 1, 1), TODAY), st.sampled_from(["year", "month", "day"]), st.integers(-120, 120))
def test_date_picker_never_leaves_the_allowed_range(day, part, delta):
    assert date(1900, 1, 1) <= step_date(day, part, delta, TODAY) <= TODAY
