"""How numbers, money and times read on screen: money and counts the same in both languages,
dates in the language's own form through Babel (CLDR): '11月29日' and 'Nov 29'."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton, get_day_names

from kiosk.ledger.dates import from_utc_text


def money(fen: int) -> str:
    """12850 -> '¥128.50', with thousands separators; a negative amount keeps its sign."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


def typed_money(text: str) -> str:
    """What the keypad has typed, in the money format everything else uses: '300' -> '¥300.00' (an
    unfinished '300.' stays as typed, so the point just pressed shows)."""
    whole, point, cents = (text or "0").partition(".")
    if point and len(cents) < 2:
        return f"¥{int(whole or 0):,}.{cents}"
    return money(int(whole or 0) * 100 + int(cents or 0))


def signed_money(fen: int) -> str:
    return ("+" if fen > 0 else "") + money(fen)


def count(n: int) -> str:
    return f"{n:,}"


def signed_count(n: int) -> str:
    return f"{n:+,}"


def day(value: str | date, lang: str) -> str:
    """'2026-12-31' -> '12月31日' (zh_CN) or 'Dec 31' (en); the year only when it is not this one's
    business to leave out: dates here are expiries and recent days, within a year or so."""
    value = date.fromisoformat(value) if isinstance(value, str) else value
    return format_skeleton("MMMd", value, locale=lang)


def weekday(iso_weekday: int, lang: str) -> str:
    """1 -> '星期一' / 'Monday' (ISO numbering, as the rules use)."""
    return get_day_names("wide", locale=lang)[iso_weekday - 1]


def full_day(value: str | date, lang: str) -> str:
    """'2026-12-31' -> '2026年12月31日' or 'Dec 31, 2026' (birthdays, the summary's day)."""
    value = date.fromisoformat(value) if isinstance(value, str) else value
    return format_skeleton("yMMMd", value, locale=lang)


def local_time(utc_text: str, tz: ZoneInfo, lang: str) -> str:
    """'2026-11-23T06:30:00.000000Z' -> '11月23日 14:30' / 'Nov 23 14:30' in the store's time zone."""
    moment = from_utc_text(utc_text).astimezone(tz)
    return f"{day(moment.date(), lang)} {moment:%H:%M}"


def clock(now: datetime, tz: ZoneInfo) -> str:
    return now.astimezone(tz).strftime("%Y-%m-%d %H:%M")
