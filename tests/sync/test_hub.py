"""Head office: in-order idempotent ingest, double spends between offline kiosks, bad input,
and PostgreSQL with two hubs sharing the work through a shared subscription."""
from __future__ import annotations

import logging
import threading

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.ledger import Refused, lines_from_amount
from sync.hq.db import Db
from sync.hq.ingest import Ingest
from sync.local import SyncState
from sync.protocol import Codec, topics

from .conftest import confirmed_all, enrol, wait_for
from .faults import projection_differences


def test_ingest_is_in_order_idempotent_and_fills_gaps(tmp_path, make_kiosk):
    k = make_kiosk("k1")
    k.register(name="Ma Chao", phone="13800001234", card_id="CARD-G", operator="admin")
    for amount in (100, 200, 300):
        k.topup("CARD-G", amount, operator="admin")
    records = k.journal()                                    # seq 1..5
    ingest = Ingest(Db(f"sqlite:///{tmp_path / 'hq.db'}"))
    early = ingest.batch("s1", "k1", "kiosk", records[3:])  # 4, 5 arrive first: held, nothing applied
    assert (early.hwm, early.held, early.applied) == (0, 2, 0)
    filled = ingest.batch("s1", "k1", "kiosk", records[:3])
    assert (filled.hwm, filled.held, filled.applied) == (5, 0, 5)
    again = ingest.batch("s1", "k1", "kiosk", records)       # a resend of everything
    assert (again.hwm, again.applied, again.duplicates) == (5, 0, 5)
    member = ingest.conn.execute("SELECT principal_fen FROM members").fetchone()
    assert member == (600,)
    assert projection_differences(ingest.db) == []


def test_double_spend_between_offline_kiosks_becomes_a_debt_an_alert_and_a_hold(
        tmp_path, broker, start_hub, make_kiosk, start_agent, services):
    a, b = make_kiosk("k1"), make_kiosk("k2")
    member = a.register(name="Liu Bei", phone="13800004321", card_id="CARD-D", operator="admin")
    a.purchase("CARD-D", lines_from_amount(10000), operator="admin")          # 100 points
    start_hub(broker.url, hold_on_overdraft=True)
    start_agent(a, broker.url)
    start_agent(b, broker.url)
    wait_for(lambda: confirmed_all(a), what="k1 confirmed")
    wait_for(lambda: b.conn.execute("SELECT 1 FROM lots").fetchone(), what="k2 knows the points")
    for running in services[1:]:           # both kiosks go offline
        running.stop()
    a.adjust("CARD-D", -80, reason="gift outside the catalogue", operator="admin")
    b.adjust("CARD-D", -80, reason="gift outside the catalogue", operator="admin")
    start_agent(a, broker.url)
    start_agent(b, broker.url)
    wait_for(lambda: confirmed_all(a) and confirmed_all(b), what="both confirmed")

    db = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    assert db.conn.execute("SELECT points_debt FROM members WHERE member_id = ?",
                           (member["member_id"],)).fetchone() == (60,)
    assert db.conn.execute("SELECT kind FROM hq_alerts").fetchall() == [("overdraft",)]
    # the kiosk whose spend came second is told, and keeps the correction for the screen
    corrections = SyncState(a.conn).corrections() + SyncState(b.conn).corrections()
    assert [c["kind"] for c in corrections] == ["overdraft"]
    assert corrections[0]["detail"]["shortfalls"][0]["short"] == 60
    second = a if SyncState(a.conn).corrections() else b
    SyncState(second.conn).acknowledge(corrections[0]["tx_id"])      # staff saw it on screen
    assert SyncState(second.conn).corrections() == []
    assert len(SyncState(second.conn).corrections(unacknowledged=False)) == 1

    def held(kiosk):
        try:
            kiosk.member_for_card("CARD-D")
        except Refused as exc:
            return exc.code == "card_blocked"
    wait_for(lambda: held(a) and held(b), what="the member's card held at both kiosks")


def test_bad_batches_are_logged_and_change_nothing(tmp_path, broker, start_hub, caplog):
    caplog.set_level(logging.WARNING, logger="sync")
    hub = start_hub(broker.url)
    enrol(f"sqlite:///{tmp_path / 'hq.db'}", "k1")          # an enrolled source sending bad batches
    wait_for(hub.client.is_connected, what="hub connected")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="mallory", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    st = topics.SourceTopics("s1", "k1")
    record = {"v": 1, "tx_id": "5b0b6a6e-0000-4000-8000-000000000001", "kiosk_id": "k2", "store_id": "s1",
              "channel": "kiosk", "seq": 1, "kind": "topup", "at": "2026-01-01T00:00:00.000000Z",
              "operator": "admin", "member_id": "m1", "ref_tx": None, "reason": "", "data": {},
              "effects": [{"op": "sv", "member_id": "m1", "principal": 100, "bonus": 0}]}
    batch = lambda r: Codec("k1").pack("tx.batch", {"store_id": "s1", "source_id": "k1", "records": [r]})
    for payload in (b"\xff\xfe not json", batch(record),                               # claims to be k2
                    batch({**record, "kiosk_id": "k1"}).replace(b'"principal":100', b'"principal":1.5'),
                    batch({**record, "kiosk_id": "k1", "effects": [{"op": "rm -rf"}]})):
        client.publish(st.tx, payload, qos=1).wait_for_publish(5)
    wait_for(lambda: sum("dropped" in r.getMessage() for r in caplog.records) >= 4, what="four drops logged")
    client.loop_stop()
    client.disconnect()
    db = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    assert db.conn.execute("SELECT COUNT(*) FROM journal").fetchone() == (0,)
    assert db.conn.execute("SELECT COUNT(*) FROM hq_sources").fetchone() == (0,)


def test_two_hubs_share_the_work_on_postgresql(pg_url, broker, start_hub, make_kiosk, start_agent):
    hubs = [start_hub(broker.url, pg_url, hub_id=f"hq-{i}") for i in (1, 2)]
    kiosks = [make_kiosk(f"k{i}") for i in (1, 2)]
    for i, k in enumerate(kiosks):
        k.register(name=f"Member {i}", phone=f"1390000000{i}", card_id=f"CARD-PG{i}", operator="admin")
        start_agent(k, broker.url, batch=20, window=4)
        for n in range(150):
            k.topup(f"CARD-PG{i}", n + 1, operator="admin")
    wait_for(lambda: all(confirmed_all(k) for k in kiosks), timeout=90, what="both kiosks confirmed")
    assert all(h.stats["batches"] > 0 for h in hubs), [h.stats for h in hubs]
    db = Db(pg_url)
    try:
        assert db.conn.execute("SELECT COUNT(*) FROM journal WHERE kiosk_id IN ('k1', 'k2')").fetchone() == (2 * 152,)
        assert sorted(db.conn.execute("SELECT principal_fen FROM members").fetchall()) == [(11325,), (11325,)]
        assert projection_differences(db) == []
    finally:
        db.close()
    # each kiosk caught up with the other's transactions from head office's feed
    wait_for(lambda: all(k.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == 2 * 152 for k in kiosks),
             what="feeds caught up")


def test_requests_are_answered_and_messages_received_while_a_batch_is_being_applied(tmp_path, broker, start_hub,
                                                                                   hq_keys, make_kiosk):
    """Head office's slow work runs beside paho's network thread: while one batch is held in the
    database, the hub still takes in messages and answers an authorization at once."""
    from sync.mqtt import Broker
    from sync.protocol import Verifier
    from sync.requester import Requester

    hub = start_hub(broker.url)
    enrol(f"sqlite:///{tmp_path / 'hq.db'}", "k1")
    wait_for(hub.client.is_connected, what="hub connected")
    applying, release = threading.Event(), threading.Event()
    real_batch = hub.ingest.batch

    def slow_batch(*args, **kwargs):
        applying.set()
        release.wait(30)
        return real_batch(*args, **kwargs)
    hub.ingest.batch = slow_batch
    codec, st = Codec("k1", verifier=Verifier.load(hq_keys["public"])), topics.SourceTopics("s1", "k1")
    asker = Requester(Broker(broker.url), codec, topics.SourceTopics("s1", "k1", "ui")).start()
    wait_for(asker.ready.is_set, what="requester subscribed")
    sender = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="k1", protocol=mqtt.MQTTv5)
    sender.connect("127.0.0.1", broker.port)
    sender.loop_start()
    k = make_kiosk("k1")
    k.register(name="Ma Chao", phone="13800001234", card_id="CARD-G", operator="admin")
    for amount in (100, 200):
        k.topup("CARD-G", amount, operator="admin")
    try:
        records = k.journal()
        for record in records:
            batch = codec.pack("tx.batch", {"store_id": "s1", "source_id": "k1", "records": [record]})
            sender.publish(st.tx, batch, qos=1).wait_for_publish(5)
        wait_for(applying.is_set, what="the first batch being applied")
        wait_for(lambda: hub.batches.qsize() == len(records) - 1, what="the next batches taken in while the first is applied")
        answer = asker.ask("authorize", {"card_id": "NO-SUCH-CARD", "spend": "points", "amount": 1}, 5.0)
        assert answer is not None and not answer["result"]["approved"]
    finally:
        release.set()
        sender.loop_stop()
        asker.close()
    wait_for(lambda: hub.stats["applied"] == len(k.journal()), what="the held batches applied")


def test_a_broker_that_grants_the_shared_subscription_and_delivers_nothing_stops_the_hub(tmp_path, hq_keys,
                                                                                        caplog):
    """Here the broker's ACL lets the hub subscribe but never delivers its probe: the hub must say
    so and stop, not look healthy while ingesting nothing."""
    from sync.hq.hub import Hub
    from sync.mqtt import Broker
    from sync.protocol import Signer

    from .mosquitto import Mosquitto
    mosq = Mosquitto(tmp_path / "broker", acl="topic readwrite kiosk/v1/hq/#\ntopic readwrite kiosk/v1/ops/hub/#\n")
    mosq.start()
    try:
        hub = Hub(f"sqlite:///{tmp_path / 'hq.db'}", Broker(mosq.url), Signer.load(hq_keys["private"]),
                  probe_timeout=1.0)
        with pytest.raises(RuntimeError, match="does not deliver"):
            hub.run(threading.Event(), poll=0.2)
    finally:
        mosq.stop()
    assert "delivered nothing" in caplog.text and not hub.client.is_connected()
