"""Reminders: points about to expire (one per lot and horizon, never twice) and birthday greetings.

:func:`remind` is safe to run as often as wanted: every notification has a stable id, so a lot
reminded 7 days ahead is not reminded 7 days ahead again, and a greeting goes once a year.
A lot first seen inside a shorter horizon gets only that (most urgent) reminder.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.ledger import pii

from .db import Db
from .notify import queue
from .reports.liability import hub_rules

DEFAULT_HORIZONS = (7, 3)


def remind(db: Db, now: datetime, *, horizons: tuple[int, ...] = DEFAULT_HORIZONS, tz: str = "Asia/Shanghai") -> dict:
    """Queue the expiry reminders and birthday greetings due on ``now``'s local day."""
    today = now.astimezone(ZoneInfo(tz)).date()
    horizons = tuple(sorted(set(horizons)))
    if not horizons or horizons[0] < 0:
        raise ValueError("horizons must be whole days, 0 or more")
    counts = {"expiry": 0, "birthday": 0}
    with db.transaction():
        rows = db.conn.execute(
            "SELECT l.member_id, l.lot_id, l.remaining, l.expires_on FROM lots l JOIN members m"
            " ON m.member_id = l.member_id WHERE l.remaining > 0 AND l.expires_on >= ? AND l.expires_on <= ?"
            " AND m.status = 'active' ORDER BY l.expires_on, l.member_id, l.lot_id",
            (today.isoformat(), (today + timedelta(days=horizons[-1])).isoformat())).fetchall()
        for member_id, lot_id, points, expires_on in rows:
            days_left = (date.fromisoformat(expires_on) - today).days
            horizon = next(h for h in horizons if days_left <= h)
            counts["expiry"] += queue(db.conn, f"expiry:{member_id}:{lot_id}:{horizon}", "expiry", member_id,
                                      {"points": points, "expires_on": expires_on, "days_left": days_left,
                                       "horizon": horizon}, now)
        benefit = [m.name for m in hub_rules(db.conn).multipliers if m.birthday_month]
        days = _birthdays_on(today)
        for member_id, _tier, birthday in pii.birthdays(db.conn, db.keyring):
            if birthday[5:] not in days:
                continue
            counts["birthday"] += queue(db.conn, f"birthday:{member_id}:{today.year}", "birthday", member_id,
                                        {"day": today.isoformat(), "benefits": benefit}, now)
    return {"day": today.isoformat(), "queued": counts}


def _birthdays_on(today: date) -> tuple[str, str]:
    """The MM-DD birthdays celebrated today (29 February is celebrated on the 28th in other years)."""
    mmdd = today.strftime("%m-%d")
    leap = today.year % 4 == 0 and (today.year % 100 != 0 or today.year % 400 == 0)
    return mmdd, "02-29" if mmdd == "02-28" and not leap else mmdd
