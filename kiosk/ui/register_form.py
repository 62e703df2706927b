"""The registration form as a member fills it on the touchscreen: no keyboard attached.

The phone comes from a numeric keypad, the name from the on-screen keyboard (pinyin with a
candidate bar, or Latin letters), the birthday from a date picker, and the member's consent to
the privacy notice is a toggle that must be on before a card can be issued. Pure state, no Kivy:
the register screen shows :meth:`RegisterForm.view` and sends every touch here.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from . import pinyin

FIELDS = ("phone", "name", "birthday", "consent")
MOBILE = re.compile(r"1[3-9][0-9]{9}")      # a mainland mobile number, 11 digits
NAME_MAX = 20
FIRST_BIRTHDAY = date(1990, 1, 1)           # where the date picker starts
# The name keyboard's letter rows: QWERTY in landscape; in portrait (480 px wide) ten keys would be
# under a fingertip's 48 px, so the letters go in alphabetical rows of seven. Then mode and space.
NAME_KEYS = {True: (list("qwertyuiop"), list("asdfghjkl"), [*"zxcvbnm", "del"], []),
             False: (list("abcdefg"), list("hijklmn"), list("opqrstu"), [*"vwxyz", "del"])}
CONTROL_KEYS = ["mode", "space"]


def group_phone(digits: str) -> str:
    """'13512345678' -> '135 1234 5678', as people read a mobile number."""
    return " ".join(part for part in (digits[:3], digits[3:7], digits[7:]) if part)


def step_date(day: date, part: str, delta: int, today: date) -> date:
    """``day`` with its year, month or day moved by ``delta``, kept inside 1900-01-01 .. ``today``
    (the day is clamped to the month's length: 31 January plus a month is 28 or 29 February)."""
    year, month, dom = day.year, day.month, day.day
    if part == "year":
        year += delta
    elif part == "month":
        month = (month - 1 + delta) % 12 + 1
    else:
        dom = (dom - 1 + delta) % calendar.monthrange(year, month)[1] + 1
    year = min(max(year, 1900), today.year)
    dom = min(dom, calendar.monthrange(year, month)[1])
    return min(date(year, month, dom), today)


@dataclass
class RegisterForm:
    phone: str = ""
    name: str = ""
    letters: str = ""                        # pinyin typed but not yet turned into a character
    latin: bool = False                      # the keyboard types Latin letters instead of pinyin
    birthday: date | None = None
    consent: bool = False
    active: str = "phone"

    # -- touches ------------------------------------------------------------------------------
    def focus(self, name: str) -> None:
        if name in FIELDS:
            self.active = name

    def phone_key(self, key: str) -> None:
        if key == "del":
            self.phone = self.phone[:-1]
        elif key == "clear":
            self.phone = ""
        elif key.isdigit() and len(self.phone) < 11:
            self.phone += key

    def name_key(self, key: str) -> None:
        """A key of the name keyboard: a letter, ``space``, ``del``, ``mode`` (pinyin / ABC)."""
        if key == "del":
            if self.letters:
                self.letters = self.letters[:-1]
            else:
                self.name = self.name[:-1]
        elif key == "mode":
            self.latin, self.letters = not self.latin, ""
        elif key == "space":
            if self.latin and self.name and not self.name.endswith(" "):
                self.name += " "
        elif len(key) == 1 and key.isalpha() and len(self.name) < NAME_MAX:
            if self.latin:
                starts_word = not self.name or self.name.endswith(" ")
                self.name += key.upper() if starts_word else key.lower()
            elif len(self.letters) < 2 * pinyin.LONGEST:
                self.letters += key.lower()

    def choose(self, char: str) -> None:
        """A candidate from the bar: it joins the name, and the letters it stood for are used up."""
        if len(self.name) < NAME_MAX:
            self.name += char
        self.letters = pinyin.pick(self.letters, char)

    def step(self, part: str, delta: int, today: date) -> None:
        self.birthday = step_date(self.birthday or FIRST_BIRTHDAY, part, delta, today)

    def clear_birthday(self) -> None:
        self.birthday = None

    def toggle_consent(self) -> None:
        self.consent = not self.consent

    # -- what it says -------------------------------------------------------------------------
    @property
    def missing(self) -> list[str]:
        """What still stops the card being issued, in the order of the form."""
        missing = []
        if not MOBILE.fullmatch(self.phone):
            missing.append("phone")
        if not self.consent:
            missing.append("consent")
        return missing

    def register_args(self) -> dict:
        return {"name": self.name.strip(), "phone": self.phone,
                "birthday": self.birthday.isoformat() if self.birthday else None}

    def view(self) -> dict:
        return {"phone": group_phone(self.phone), "name": self.name, "letters": self.letters,
                "latin": self.latin, "candidates": [] if self.latin else pinyin.candidates(self.letters),
                "birthday": self.birthday.isoformat() if self.birthday else "",
                "year": self.birthday.year if self.birthday else None,
                "month": self.birthday.month if self.birthday else None,
                "day": self.birthday.day if self.birthday else None,
                "consent": self.consent, "active": self.active, "missing": self.missing}
