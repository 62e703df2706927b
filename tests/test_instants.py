"""The time-sensitive rules at the awkward instants, on the kiosk and at head office.

Each scenario runs with the ledger's and the hub's clock pinned to one instant (no ``at=``: the
rules must take "now" from the injected clock), and its expectations are computed here from the
instant in the store's time zone, independently of the ledger's date code. The instants are where
local time and UTC disagree about the day, the weekday, the month or the year.
"""
from __future__ import annotations

import calendar
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.ledger import Ledger, Refused, lines_from_amount
from kiosk.ledger.clock import FixedClock
from sync.hq.authority import Authority
from sync.hq.db import Db
from sync.hq.ingest import Ingest, balances

SHANGHAI = ZoneInfo("Asia/Shanghai")
INSTANTS = {
    "wednesday-00:30-still-tuesday-in-utc": "2027-09-01T00:30:00+08:00",   # also a new month locally only
    "last-second-of-a-month": "2026-11-30T23:59:59+08:00",
    "29-february": "2028-02-29T12:00:00+08:00",
    "new-years-eve": "2026-12-31T23:59:59+08:00",
    "new-year-00:30-still-old-year-in-utc": "2027-01-01T00:30:00+08:00",
}


def month_end(year: int, month: int) -> date:
    """The last day of ``month`` (which may overflow past December)."""
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])


def local_text(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).isoformat()


@pytest.fixture(params=sorted(INSTANTS), ids=sorted(INSTANTS))
def instant(request) -> datetime:
    return datetime.fromisoformat(INSTANTS[request.param])


@pytest.fixture
def scene(tmp_path, instant):
    """A kiosk and a head office on one clock pinned at ``instant``; a member who joined 14 months
    before and earned 100 points 13 months before (expired by now, by the reference rules) and
    50 points 12 months before (still valid until the end of this month)."""
    clock = FixedClock(instant)
    hq = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    local = instant.astimezone(SHANGHAI)
    back = lambda months: local.replace(day=15, hour=12, minute=0, second=0) - timedelta(days=round(months * 30.44))
    led = Ledger.create(tmp_path / "k.db", kiosk_id="k1", store_id="s1", clock=clock, at=local_text(back(15)))
    led.register(name="Lin Mei", phone="13800001111", card_id="C1", operator="admin", at=local_text(back(14)))
    led.purchase("C1", lines_from_amount(10000), operator="admin", at=local_text(back(13)))
    led.purchase("C1", lines_from_amount(5000), operator="admin", at=local_text(back(12)))
    yield led, hq, clock
    led.close()
    hq.close()


def sync_to_head_office(led: Ledger, hq: Db, clock) -> Ingest:
    ingest = Ingest(hq, clock=clock)
    records = [json.loads(r) for (r,) in led.conn.execute("SELECT record FROM journal ORDER BY seq")]
    ingest.batch("s1", "k1", "kiosk", records)
    return ingest


def test_points_earned_now_follow_the_local_weekday_and_expire_by_the_local_month(scene, instant):
    led, hq, clock = scene
    local = instant.astimezone(SHANGHAI)
    old_lots = 50                                             # the 100 of 13 months ago have expired
    done = led.purchase("C1", lines_from_amount(20000), operator="admin")
    earned = 200 * (2 if local.isoweekday() == 3 else 1)      # Wednesday double points, by the local weekday
    assert done["points_earned"] == earned
    (expires,) = led.conn.execute("SELECT expires_on FROM lots ORDER BY earned_at DESC LIMIT 1").fetchone()
    assert expires == month_end(local.year, local.month + 12).isoformat()
    assert led.member_view("C1")["points"] == old_lots + earned


def test_head_office_counts_the_same_points_on_the_same_local_day(scene, instant):
    led, hq, clock = scene
    led.purchase("C1", lines_from_amount(20000), operator="admin")
    shown = led.member_view("C1")["points"]
    sync_to_head_office(led, hq, clock)
    authority = Authority(hq, clock)
    reason, _ = authority.authorize({"card_id": "C1", "spends": {"points": shown + 1}})
    assert reason == "insufficient_points"
    reason, result = authority.authorize({"card_id": "C1", "spends": {"points": shown}})
    assert (reason, result["approved"]) == ("", True)
    assert result["balance"]["points"] == shown


def test_head_office_takes_a_coupon_as_valid_through_its_last_local_day(scene, instant):
    """A coupon whose last day was local yesterday (still today in UTC at some instants) is refused."""
    led, hq, clock = scene
    ingest = sync_to_head_office(led, hq, clock)
    member_id = led.member_view("C1")["member_id"]
    today = instant.astimezone(SHANGHAI).date()
    for code, last_day in (("C10", today - timedelta(days=1)), ("V20", today)):
        ingest.originate("coupon", [{"op": "coupon.add", "member_id": member_id, "coupon_id": f"cp-{code}",
                                     "code": code, "valid_until": last_day.isoformat()}], store_id="s1")
    authority = Authority(hq, clock)
    ask = lambda code: authority.authorize({"card_id": "C1", "spends": {"coupons": [code]}})
    assert ask("C10")[0] == "no_coupon"
    assert ask("V20")[0] == ""


def test_head_office_expires_points_after_their_last_local_day(scene, instant):
    """A lot whose last day was local yesterday counts for nothing at head office, as on the kiosk."""
    led, hq, clock = scene
    ingest = sync_to_head_office(led, hq, clock)
    member_id = led.member_view("C1")["member_id"]
    yesterday = instant.astimezone(SHANGHAI).date() - timedelta(days=1)
    ingest.originate("adjust", [{"op": "lot.add", "member_id": member_id, "lot_id": "bonus", "points": 7,
                                 "expires_on": yesterday.isoformat()}], store_id="s1")
    (balance,) = balances(hq.conn, {member_id}, ingest.head(), ingest.today())
    assert balance["points"] == led.member_view("C1")["points"]


def test_check_in_is_once_per_local_day(scene, instant):
    led, hq, clock = scene
    led.checkin("C1")
    with pytest.raises(Refused):
        led.checkin("C1")
    clock.advance(seconds=1)
    next_day = clock.now().astimezone(SHANGHAI).date() != instant.astimezone(SHANGHAI).date()
    if next_day:
        assert led.checkin("C1")["points"] == 5
    else:
        with pytest.raises(Refused):
            led.checkin("C1")


def test_the_day_summary_is_the_local_day(scene, instant):
    led, hq, clock = scene
    led.purchase("C1", lines_from_amount(1000), operator="admin")
    summary = led.day_summary()
    assert summary["day"] == instant.astimezone(SHANGHAI).date().isoformat()
    assert summary["transactions"] == 1                       # the earlier purchases were on other days


def test_a_top_up_can_be_undone_within_the_window_across_midnight(scene, instant):
    led, hq, clock = scene
    topup = led.topup("C1", 10000, operator="admin")
    clock.advance(minutes=29)
    undone = led.undo_topup(topup["tx_id"], reason="wrong amount", operator="admin")
    assert undone["tx_id"] != topup["tx_id"]
    again = led.topup("C1", 10000, operator="admin")
    clock.advance(minutes=31)
    with pytest.raises(Refused):
        led.undo_topup(again["tx_id"], reason="too late", operator="admin")
