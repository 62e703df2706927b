"""How numbers, money and times read on screen (the same in both languages)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from kiosk.ledger.dates import from_utc_text


def money(fen: int) -> str:
    """12850 -> '¥128.50', with thousands separators; a negative amount keeps its sign."""
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


def signed_money(fen: int) -> str:
    return ("+" if fen > 0 else "") + money(fen)


def count(n: int) -> str:
    return f"{n:,}"


def signed_count(n: int) -> str:
    return f"{n:+,}"


def local_time(utc_text: str, tz: ZoneInfo) -> str:
    """'2026-11-23T06:30:00.000000Z' -> '11-23 14:30' in the store's time zone."""
    return from_utc_text(utc_text).astimezone(tz).strftime("%m-%d %H:%M")


def clock(now: datetime, tz: ZoneInfo) -> str:
    return now.astimezone(tz).strftime("%Y-%m-%d %H:%M")
