"""Business days and months in the chain's time zone, as UTC ranges of the journal's ``at`` text,
and the reading of journal records within such a range."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterator
from zoneinfo import ZoneInfo

from kiosk.ledger.dates import add_months, to_utc_text

DEFAULT_TZ = "Asia/Shanghai"


@dataclass(frozen=True)
class Period:
    """[first, last] local days; ``start``/``end`` are the UTC texts of its bounds (end exclusive)."""

    label: str
    first: date
    last: date
    tz: str = DEFAULT_TZ

    @property
    def start(self) -> str:
        return utc_text_of_day(self.first, self.tz)

    @property
    def end(self) -> str:
        return utc_text_of_day(self.last + timedelta(days=1), self.tz)

    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def utc_text_of_day(day: date, tz: str = DEFAULT_TZ) -> str:
    """The instant a local day starts, as journal text."""
    return to_utc_text(datetime.combine(day, time(0), ZoneInfo(tz)))


def parse_period(text: str, tz: str = DEFAULT_TZ) -> Period:
    """``2026-03-05`` (a day), ``2026-03`` (a month) or ``2026-03-01..2026-03-14`` (days inclusive)."""
    text = (text or "").strip()
    try:
        if ".." in text:
            first, last = (date.fromisoformat(part) for part in text.split("..", 1))
            if last < first:
                raise ValueError
            return Period(text, first, last, tz)
        if re.fullmatch(r"[0-9]{4}-[0-9]{2}", text):
            first = date.fromisoformat(text + "-01")
            return Period(text, first, add_months(first, 1) - timedelta(days=1), tz)
        day = date.fromisoformat(text)
        return Period(text, day, day, tz)
    except ValueError:
        raise ValueError(f"period {text!r} is not a day (2026-03-05), a month (2026-03) or"
                         " days (2026-03-01..2026-03-14)") from None


def local_day(at: str, zone: ZoneInfo) -> date:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(zone).date()


def records_between(conn, start: str, end: str, kinds: tuple[str, ...] = ()) -> Iterator[dict]:
    """Journal records with ``start <= at < end`` (optionally only some kinds), in time order."""
    where = " AND kind IN (%s)" % ", ".join("?" * len(kinds)) if kinds else ""
    rows = conn.execute(f"SELECT record FROM journal WHERE at >= ? AND at < ?{where} ORDER BY at",
                        (start, end, *kinds)).fetchall()
    for (text,) in rows:
        yield json.loads(text)


def records_before(conn, end: str, kinds: tuple[str, ...] = ()) -> Iterator[dict]:
    return records_between(conn, "", end, kinds)
