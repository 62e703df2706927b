"""Abnormal-transaction monitoring: each rule fires once on what breaks it, holds release, gaps show."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from kiosk.ledger import journal, lines_from_amount
from sync.hq.monitor import Monitor, list_alerts, load_monitor_rules, release

RULES = """
[monitor]
amount_above = "2000.00"
velocity = { count = 3, minutes = 10 }
business_hours = ["08:00", "22:00"]
adjust_points_above = 5000
gap_minutes = 30
hold = ["velocity"]
"""
NOW = datetime(2026, 3, 5, 4, 0, tzinfo=timezone.utc)


def at(hhmm: str) -> str:
    return f"2026-03-04T{hhmm}:00+08:00"


def rules_hit(alerts):
    return sorted(a["rule"] for a in alerts)


def test_each_rule_fires_once_and_a_hold_blocks_until_released(chain):
    k = chain.kiosk("k1", "s1", staff=("c1", "m1"))
    k.register(name="Zhang San", phone="13800000001", card_id="C1", operator="c1", at=at("09:00"))
    k.register(name="Li Si", phone="13800000002", card_id="C2", operator="c1", at=at("09:00"))
    k.topup("C1", 300000, operator="c1", at=at("09:05"))                       # amount
    for minute in ("10:00", "10:02", "10:04", "10:06", "10:08"):                # velocity: 4th in 10 min
        k.purchase("C2", lines_from_amount(1000), operator="c1", at=at(minute))
    k.purchase("C1", lines_from_amount(1000), operator="c1", at=at("22:30"))    # off hours
    k.adjust("C1", 6000, reason="complaint", operator="m1", at=at("11:00"))     # adjust
    k.adjust("C1", 100, reason="small", operator="m1", at=at("11:01"))          # fine
    chain.sync()
    monitor = Monitor(chain.db, load_monitor_rules(RULES))
    alerts = monitor.scan(NOW)
    assert rules_hit(alerts) == ["adjust", "amount", "off_hours", "velocity"]
    assert monitor.scan(NOW) == []                                   # nothing new: nothing twice
    velocity = next(a for a in alerts if a["rule"] == "velocity")
    assert velocity["hold"] and velocity["detail"]["count"] == 4
    held = chain.db.conn.execute("SELECT card_id FROM blocklist").fetchall()
    assert held == [("C2",)]
    listed = list_alerts(chain.db.conn)
    assert [a["rule"] for a in listed if a["holding"]] == ["velocity"]
    out = release(chain.db, velocity["alert_id"], by="m1", now=NOW)
    assert out["released"] == ["C2"] and chain.db.conn.execute("SELECT COUNT(*) FROM blocklist").fetchone() == (0,)
    with pytest.raises(LookupError):
        release(chain.db, velocity["alert_id"], by="m1", now=NOW)


def test_card_counter_going_backwards_across_kiosks_and_an_open_gap(chain):
    a, b = chain.kiosk("k1", "s1"), chain.kiosk("k2", "s1")
    a.register(name="Zhang San", phone="13800000001", card_id="C1", operator="c1", at=at("09:00"))
    chain.sync()
    a.purchase("C1", lines_from_amount(1000), operator="c1", at=at("10:00"))
    b.purchase("C1", lines_from_amount(1000), operator="c1", at=at("10:05"))
    ra, rb = a.journal()[-1], b.journal()[-1]
    ra["data"]["card_counter"] = {"uid": "04AABBCC", "counter": 41}
    rb["data"]["card_counter"] = {"uid": "04AABBCC", "counter": 17}          # a clone replaying an old read
    for record in (ra, rb):               # what a kiosk reading an NTAG 424 card would have sealed
        journal.seal(record, record["prev"])
    chain.ingest.batch("s1", "k1", "kiosk", a.journal()[:-1] + [ra])
    chain.ingest.batch("s1", "k2", "kiosk", [rb])
    b.purchase("C1", lines_from_amount(1000), operator="c1", at=at("10:06"))
    b.purchase("C1", lines_from_amount(1000), operator="c1", at=at("10:07"))
    chain.ingest.batch("s1", "k2", "kiosk", b.journal()[-1:])                  # seq 3 without seq 2: parked
    monitor = Monitor(chain.db, load_monitor_rules(""))
    alerts = monitor.scan(NOW)
    assert "gap" not in rules_hit(alerts)                                     # not yet 30 minutes old
    alerts += monitor.scan(NOW.replace(minute=30))
    counter = next(a for a in alerts if a["rule"] == "card_counter")
    assert counter["detail"]["highest_from"] == "k1" and counter["source_id"] == "k2"
    gap = next(a for a in alerts if a["rule"] == "gap")
    assert gap["source_id"] == "k2" and gap["detail"]["missing_from"] == b.journal()[-2]["seq"]
    assert monitor.scan(NOW.replace(minute=59)) == []


@pytest.mark.parametrize("text, key", [
    ('[monitor]\nvelocity = { count = 0 }', "monitor.velocity.count"),
    ('[monitor]\nhold = ["everything"]', "monitor.hold"),
    ('[monitor]\namount_above = "-1"', "monitor.amount_above"),
    ('[monitor]\nspeed = 1', "monitor.speed"),
])
def test_bad_monitor_rules_are_refused_by_name(text, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        load_monitor_rules(text)
