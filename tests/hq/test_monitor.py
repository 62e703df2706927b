"""Abnormal-transaction monitoring: each rule fires once on what breaks it, holds release, gaps show."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from drivers.cards import CardVerifier, make_sun_message
from kiosk.ledger import journal, lines_from_amount
from kiosk.ledger.dates import to_utc_text
from kiosk.ui import services
from sync.hq import feedscope
from sync.hq.cli import main
from sync.hq.monitor import Monitor, list_alerts, load_monitor_rules, release
from sync.hq.ops_cli import USAGE

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
    ('[monitor]\ncard_counter_jump = -5', "monitor.card_counter_jump"),
])
def test_bad_monitor_rules_are_refused_by_name(text, key):
    with pytest.raises(ValueError, match=key.replace(".", r"\.")):
        load_monitor_rules(text)


def failed_sign_in(kiosk, staff_id: str, when: str) -> None:
    """What a kiosk journals for a wrong PIN: a record-only ``staff_sign_in_failed`` naming the staff member."""
    with kiosk.transaction("staff_sign_in_failed", operator=staff_id, record_only=True,
                           data={"staff_id": staff_id}, at=at(when)):
        pass


def test_a_burst_of_failed_sign_ins_for_one_staff_member_across_kiosks_is_one_alert(chain):
    a, b = chain.kiosk("k1", "s1", staff=("c1", "c2")), chain.kiosk("k2", "s1", staff=("c1", "c2"))
    failed_sign_in(a, "c1", "10:00")
    failed_sign_in(b, "c1", "10:05")                 # the same PIN guessed at another kiosk
    failed_sign_in(a, "c2", "10:06")                 # someone else: counted apart
    failed_sign_in(b, "c1", "10:09")                 # third for c1 within 15 minutes: alert
    failed_sign_in(b, "c1", "10:10")                 # the same burst: no second alert
    failed_sign_in(a, "c2", "10:30")                 # c2's second, 24 minutes after the first: no alert
    failed_sign_in(a, "c2", "11:00")
    chain.sync()                                     # through the hub's ingest, like any record
    alerts = Monitor(chain.db, load_monitor_rules("")).scan(NOW)
    assert rules_hit(alerts) == ["failed"]
    assert alerts[0]["detail"]["who"] == "c1" and alerts[0]["detail"]["count"] == 3
    assert alerts[0]["source_id"] == "k2"


def test_a_copied_sun_message_used_at_another_kiosk_is_caught_at_head_office(chain):
    master, uid = bytes(range(16)), bytes.fromhex("04C24EDA926980")
    a, b = chain.kiosk("k1", "s1"), chain.kiosk("k2", "s2")
    card = uid.hex().upper()
    member = a.register(name="Zhang San", phone="13800000001", card_id=card, operator="c1", at=at("09:00"))["member_id"]
    chain.sync()
    feedscope.remember(chain.db, "s2", member, "k2", at("12:00"))  # the tap at k2 looked the member up online
    readers = {k: CardVerifier(accept_token=False, accept_sun=True, sun_master_key=master) for k in ("k1", "k2")}

    def tap_and_buy(kiosk, counter: int, when: str) -> None:
        verdict = readers[kiosk.kiosk_id].check(b"\x08\x01\x02\x03", make_sun_message(master, uid, counter))
        assert verdict.counter == counter                          # each kiosk accepts what it has not seen
        services.read_card(kiosk, verdict.card_id, counter=verdict.counter, at=at(when))
        kiosk.purchase(card, lines_from_amount(1000), operator="c1", at=at(when))

    tap_and_buy(a, 7, "10:00")
    tap_and_buy(a, 8, "11:00")
    tap_and_buy(b, 7, "12:00")                                     # read 7, skimmed and replayed elsewhere
    assert a.journal()[-1]["data"]["card_counter"] == {"uid": card, "counter": 8}
    chain.sync()
    alerts = Monitor(chain.db, load_monitor_rules("")).scan(NOW)
    assert rules_hit(alerts) == ["card_counter"]
    detail = alerts[0]["detail"]
    assert (alerts[0]["source_id"], detail["counter"], detail["highest"], detail["highest_from"],
            detail["anomaly"]) == ("k2", 7, 8, "k1", "backwards")


def counter_record(kiosk_id: str, when: str, counter: int) -> dict:
    return {"tx_id": f"{kiosk_id}-{when}", "kiosk_id": kiosk_id, "channel": "kiosk", "kind": "purchase",
            "at": to_utc_text(datetime.fromisoformat(at(when))), "operator": "c1", "member_id": None, "effects": [],
            "data": {"card_counter": {"uid": "04AA", "counter": counter}}}


@pytest.mark.parametrize("reads, anomalies", [
    ([("k1", "10:00", 5), ("k1", "10:01", 5), ("k2", "11:00", 6)], [None, None, None]),    # one tap, two sales
    ([("k2", "11:00", 6), ("k1", "10:00", 5)], [None, None]),          # an offline kiosk's older read, late
    ([("k1", "10:00", 5), ("k2", "11:00", 5)], [None, "repeated"]),    # the same read at two kiosks
    ([("k2", "11:00", 6), ("k1", "12:00", 5)], [None, "backwards"]),   # lower, later
    ([("k2", "11:00", 6), ("k1", "10:00", 9)], [None, "backwards"]),   # higher, earlier
    ([("k1", "10:00", 5), ("k1", "11:00", 2000)], [None, "jump"]),     # read ~2000 times away from the counters
])
def test_card_counter_anomalies(hub_db, reads, anomalies):
    monitor = Monitor(hub_db, load_monitor_rules(""))
    found = []
    for kiosk_id, when, counter in reads:
        hits = dict(monitor.check(counter_record(kiosk_id, when, counter)))
        found.append(hits["card_counter"]["anomaly"] if "card_counter" in hits else None)
    assert found == anomalies


def test_kiosk_hq_alerts_prints_a_table_json_or_csv(chain, capsys):
    k = chain.kiosk("k1", "s1")
    k.register(name="Zhang San", phone="13800000001", card_id="C1", operator="c1", at=at("09:00"))
    k.topup("C1", 600000, operator="c1", at=at("09:05"))
    chain.sync()
    Monitor(chain.db, load_monitor_rules("")).scan(NOW)
    assert main(["alerts", "--db", chain.db.url]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == "== Alerts ==" and table[1].split()[:4] == ["alert_id", "at", "kind", "rule"]
    assert "amount" in table[3] and "amount_fen=600000" in table[3]
    assert main(["alerts", "--db", chain.db.url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["alerts"]
    assert [(a["kind"], a["rule"], a["detail"]["amount_fen"]) for a in listed] == [("monitor", "amount", 600000)]
    assert main(["alerts", "--db", chain.db.url, "--csv", "--kind", "overdraft"]) == 0
    assert capsys.readouterr().out.strip() == "alert_id,at,kind,rule,source_id,member_id,holding,detail"
    assert main(["alerts", "--db", "mysql://nope", "--json"]) == USAGE
    assert json.loads(capsys.readouterr().out)["code"] == "usage"
