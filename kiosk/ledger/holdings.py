"""What a member holds on a local day, defined once for the kiosk and head office.

Lots and coupons are valid through their last day in the store's time zone; the same SQL
conditions serve the kiosk's views and operations, head office's balances and approvals, and its
reports. A day is always a store-local day (:func:`local_day`), never the UTC date.
"""
from __future__ import annotations

from datetime import datetime, tzinfo


def local_day(moment: datetime, tz: tzinfo) -> str:
    """The store-local calendar day of an instant (ISO text, as lots and coupons store their last day)."""
    return moment.astimezone(tz).date().isoformat()


def valid_lot(alias: str = "") -> str:
    """SQL: a lot with points left, not expired on the local day given as the one parameter."""
    a = f"{alias}." if alias else ""
    return f"{a}remaining > 0 AND ({a}expires_on IS NULL OR {a}expires_on >= ?)"


def valid_coupon(alias: str = "") -> str:
    """SQL: an unused coupon still valid on the local day given as the one parameter."""
    a = f"{alias}." if alias else ""
    return f"{a}used_tx IS NULL AND {a}valid_until >= ?"


def available_points(conn, member_id: str, day: str) -> int:
    """Points in the member's valid lots on local ``day`` (before any debt is netted off)."""
    from .keyed import VALID_POINTS      # keyed builds its statements from this module's conditions
    (points,) = conn.execute(VALID_POINTS, (member_id, day)).fetchone()
    return points
