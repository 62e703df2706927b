"""Calendar arithmetic the rules need: months, expiry dates, local days.

Instants are stored as UTC ISO strings ending in "Z" (they sort as text); days, weekdays and
birthdays are taken in the store's time zone.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from .errors import InvalidInput
from .rules import Expiry


def add_months(day: date, months: int) -> date:
    """Same day ``months`` later, clamped to the end of a shorter month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def end_of_month(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def lot_expiry(rule: Expiry, earned: date) -> date | None:
    """The last day a lot earned on ``earned`` can be spent (None: never expires)."""
    if rule.kind == "never":
        return None
    if rule.kind == "months":
        return add_months(earned, rule.months) - timedelta(days=1)
    if rule.kind == "end_of_month":
        return end_of_month(add_months(earned.replace(day=1), rule.months))
    return date(add_months(earned.replace(day=1), rule.months).year, 12, 31)  # end_of_year


def to_utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def from_utc_text(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


FIRST_YEAR, LAST_YEAR = 2000, 2099     # a transaction dated outside these is a typing mistake


def parse_moment(text: str | None, tz: ZoneInfo, now: datetime) -> datetime:
    """``--at`` values: ISO 8601; without an offset it is the store's local time. None: ``now``.

    Years outside 2000-2099 are refused: they are typing mistakes, and near the ends of the
    calendar the expiry arithmetic would overflow.
    """
    if text is None:
        return now
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"time {text!r} is not ISO 8601 like 2026-11-23T14:30") from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise InvalidInput(f"time {text!r} is outside the years {FIRST_YEAR}-{LAST_YEAR}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(timezone.utc)


def parse_day(text: str, what: str = "date") -> date:
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(f"{what} {text!r} is not a date like 1990-05-17") from None
