"""Reminders and the notification outbox through a real Mosquitto to a gateway that confirms some
notifications and ignores others (which are retried, then given up)."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.ledger import Ledger, lines_from_amount, pii
from sync.hq.ingest import Ingest
from sync.hq.monitor import load_monitor_rules
from sync.hq.notify import Sealer, outbox
from sync.hq.opsloop import OpsLoop
from sync.hq.reminders import remind
from sync.hq.retained import Retained
from sync.mqtt import Broker
from sync.protocol import Codec, Signer, Verifier, generate, topics

from ..sync.conftest import wait_for
from ..sync.mosquitto import Mosquitto

# Expiry is end of month 12 months after earning: points earned in March 2025 expire 2026-03-31.
EARNED = "2025-03-10T12:00:00+08:00"


def start_gateway(broker, on_message, *subscriptions: str) -> tuple[mqtt.Client, threading.Event]:
    """An SMS / app-push gateway on the broker: (its client, set once it has subscribed)."""
    gateway = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="gateway", protocol=mqtt.MQTTv5)
    gateway.on_message = on_message
    subscribed = threading.Event()
    gateway.on_subscribe = lambda *a: subscribed.set()
    gateway.connect("127.0.0.1", broker.port)
    gateway.subscribe([(topic, 1) for topic in subscriptions])
    gateway.loop_start()
    return gateway, subscribed


def shanghai(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00").astimezone(timezone.utc)


@pytest.fixture
def members(chain):
    k = chain.kiosk("k1", "s1")
    k.register(name="张三", phone="13800000001", card_id="C1", birthday="1990-03-27", operator="c1", at=EARNED)
    k.register(name="Li Si", phone="13800000002", card_id="C2", operator="c1", at=EARNED)
    k.purchase("C1", lines_from_amount(5000), operator="c1", at=EARNED)
    k.purchase("C2", lines_from_amount(7000), operator="c1", at=EARNED)
    chain.sync()
    return chain


def test_expiry_reminders_once_per_lot_and_horizon_and_birthdays_once_a_year(members):
    db = members.db
    assert remind(db, shanghai("2026-03-20T09:00"))["queued"] == {"expiry": 0, "birthday": 0}   # 11 days left
    assert remind(db, shanghai("2026-03-24T09:00"))["queued"] == {"expiry": 2, "birthday": 0}   # 7 days left
    assert remind(db, shanghai("2026-03-25T09:00"))["queued"] == {"expiry": 0, "birthday": 0}   # already told
    assert remind(db, shanghai("2026-03-27T23:59"))["queued"] == {"expiry": 0, "birthday": 1}
    assert remind(db, shanghai("2026-03-28T00:00"))["queued"] == {"expiry": 2, "birthday": 0}   # 3 days left
    assert remind(db, shanghai("2026-03-29T09:00"))["queued"] == {"expiry": 0, "birthday": 0}
    ids = sorted(n["notification_id"].split(":")[0] + ":" + n["notification_id"].rsplit(":", 1)[1]
                 for n in outbox(db.conn))
    assert ids == ["birthday:2026", "expiry:3", "expiry:3", "expiry:7", "expiry:7"]


def test_outbox_goes_to_the_gateway_sealed_confirmed_or_retried_then_given_up(tmp_path, members):
    broker = Mosquitto(tmp_path / "broker").start()
    generate(tmp_path / "hq.pem", tmp_path / "hq.pub")
    Sealer.generate(tmp_path / "gateway.key")
    sealer = Sealer.load(tmp_path / "gateway.key")
    url = members.db.url
    ops = OpsLoop(url, Broker(broker.url), Signer.load(tmp_path / "hq.pem"), sealer,
                  rules=load_monitor_rules('[monitor]\namount_above = "60.00"'))
    received, gateway_codec = [], Codec("gateway", "hq", verifier=Verifier.load(tmp_path / "hq.pub"))
    alerts = []

    def on_message(client, userdata, msg):
        if msg.topic == topics.ALERTS:
            alerts.append(gateway_codec.unpack(msg.payload, {"alert"})["body"])
            return
        body = gateway_codec.unpack(msg.payload, {"notify"})["body"]
        contact = sealer.open(body["contact"], body["notification_id"])
        received.append((body, contact, msg.payload))
        if body["kind"] == "birthday":        # the SMS provider is down for greetings: no answer at all
            return
        client.publish(topics.NOTIFY_ACK, gateway_codec.pack("notify.ack", {
            "notification_id": body["notification_id"], "status": "delivered"}), qos=1)

    gateway, subscribed = start_gateway(broker, on_message, topics.NOTIFY, topics.ALERTS)
    ops.client.connect("127.0.0.1", broker.port)
    ops.client.loop_start()
    try:
        assert subscribed.wait(10)
        wait_for(lambda: ops.client.is_connected(), what="ops connected")
        now = shanghai("2026-03-27T10:00")
        first = ops.tick(now)
        assert first["reminders"] == {"expiry": 2, "birthday": 1} and first["sent"] == 3
        assert first["alerts"] == 1                       # the 70 yuan purchase, published once
        wait_for(lambda: len(received) == 3 and alerts, what="gateway received")
        assert alerts[0]["detail"]["rule"] == "amount" and alerts[0]["detail"]["amount_fen"] == 7000
        body, contact, payload = next(r for r in received if r[0]["kind"] == "birthday")
        assert contact == {"name": "张三", "phone": "+8613800000001"}
        assert b"13800000001" not in payload and "张三".encode() not in payload
        wait_for(lambda: ops.answers.qsize() == 2, what="two confirmations")
        assert ops.tick(now + timedelta(seconds=5))["answers"] == 2
        states = {n["kind"]: n["state"] for n in outbox(members.db.conn)}
        assert states == {"expiry": "delivered", "birthday": "sent"}
        moment = now
        for wait in (1, 5, 30, 120):                      # retried on schedule, then given up
            assert ops.tick(moment + timedelta(minutes=wait) - timedelta(seconds=1))["sent"] == 0
            moment += timedelta(minutes=wait)
            assert ops.tick(moment)["sent"] == 1
        next_day = ops.tick(moment + timedelta(days=1))          # the 3-day reminders; the greeting is given up
        assert (next_day["reminders"], next_day["sent"]) == ({"expiry": 2, "birthday": 0}, 2)
        birthday = next(n for n in outbox(members.db.conn) if n["kind"] == "birthday")
        assert (birthday["state"], birthday["attempts"]) == ("failed", 5)
        wait_for(lambda: len(received) == 9, what="the retries and the 3-day reminders")
    finally:
        gateway.loop_stop()
        ops.client.loop_stop()
        ops.db.close()
        broker.stop()


class Killed(BaseException):
    """The operations process dying at an instant (SIGKILL cannot be aimed between two statements)."""


def test_a_notification_is_sent_once_when_ops_dies_after_publishing_or_two_run_at_once(tmp_path, members):
    broker = Mosquitto(tmp_path / "broker").start()
    generate(tmp_path / "hq.pem", tmp_path / "hq.pub")
    Sealer.generate(tmp_path / "gateway.key")
    sealer, signer = Sealer.load(tmp_path / "gateway.key"), Signer.load(tmp_path / "hq.pem")
    ops = [OpsLoop(members.db.url, Broker(broker.url), signer, sealer, client_id=f"hq-ops-{n}") for n in (1, 2)]
    received, codec = [], Codec("gateway", "hq", verifier=Verifier.load(tmp_path / "hq.pub"))

    def on_message(client, userdata, msg):       # a gateway that delivers everything it gets
        body = codec.unpack(msg.payload, {"notify"})["body"]
        received.append((body["notification_id"], body["attempt"]))
        client.publish(topics.NOTIFY_ACK, codec.pack("notify.ack", {
            "notification_id": body["notification_id"], "status": "delivered"}), qos=1)

    gateway, subscribed = start_gateway(broker, on_message, topics.NOTIFY)
    for loop in ops:
        loop.client.connect("127.0.0.1", broker.port)
        loop.client.loop_start()
    try:
        assert subscribed.wait(10)
        wait_for(lambda: all(loop.client.is_connected() for loop in ops), what="both connected")
        now = shanghai("2026-03-27T10:00")
        real_publish = ops[0].client.publish

        def publish_then_die(*args, **kwargs):
            real_publish(*args, **kwargs).wait_for_publish(5)
            raise Killed                          # published, and then the process is gone
        ops[0].client.publish = publish_then_die
        with pytest.raises(Killed):
            ops[0].tick(now)                      # queues three, sends the first, dies
        wait_for(lambda: len(received) == 1 and ops[1].answers.qsize() == 1, what="the first, delivered")
        assert ops[1].tick(now)["sent"] == 0      # the other process sends none of the claimed ones again
        assert [n["state"] for n in outbox(members.db.conn)].count("delivered") == 1
        ops[0].client.publish = real_publish
        later = now + timedelta(minutes=1)        # the two claimed but never published are retried...
        sent = []
        both = [threading.Thread(target=lambda loop=loop: sent.append(loop.tick(later)["sent"])) for loop in ops]
        for thread in both:                       # ...by both processes at once
            thread.start()
        for thread in both:
            thread.join(30)
        assert sorted(sent) in ([0, 2], [1, 1])
        wait_for(lambda: len(received) == 3, what="the retried two")
        assert len({n for n, _ in received}) == 3 and sorted(a for _, a in received) == [1, 2, 2]
        claims = members.db.conn.execute("SELECT COUNT(*) FROM hq_notify_claims").fetchone()[0]
        assert claims == 5                        # three first attempts, two second ones
    finally:
        gateway.loop_stop()
        for loop in ops:
            loop.client.loop_stop()
            loop.db.close()
        broker.stop()


def test_the_first_round_of_a_day_makes_the_dated_benefit_runs_once(tmp_path, chain_key_file, hub_db):
    """Birthday coupons and due top-up instalments no kiosk visit has paid are given by the daily round."""
    full = (Path(__file__).parents[2] / "examples" / "rules-full.toml").read_text()
    Retained(hub_db).set_rules(full)
    k = Ledger.create(tmp_path / "k1.db", kiosk_id="k1", store_id="s1", rules_text=full, at="2026-01-01T08:00",
                      pii_key=pii.load_or_make(chain_key_file))
    k.register(name="A", phone="13800000001", card_id="A", birthday="1990-05-17", operator="admin",
               at="2026-11-01T09:00")
    k.purchase("A", lines_from_amount(100_000), operator="admin", at="2026-11-02T10:00")     # normal tier
    k.topup("A", 100_000, operator="admin", at="2027-04-20T10:00")                         # bonus in parts
    records = k.journal(limit=1000)
    Ingest(hub_db).batch("s1", "k1", "kiosk", records, pii.keys_for(k.conn, records))
    k.close()
    generate(tmp_path / "hq.pem", tmp_path / "hq.pub")
    Sealer.generate(tmp_path / "gateway.key")
    ops = OpsLoop(hub_db.url, Broker("mqtt://127.0.0.1:1"), Signer.load(tmp_path / "hq.pem"),
                  Sealer.load(tmp_path / "gateway.key"))     # no broker needed: nothing is published here
    try:
        day = shanghai("2027-05-03T09:00")
        assert ops.tick(day)["runs"] == {"birthday_coupons": 1, "instalments": 1}
        assert ops.tick(day + timedelta(hours=1))["runs"] is None             # once a day
        assert ops.tick(day + timedelta(days=1))["runs"] == {"birthday_coupons": 0, "instalments": 0}
        coupons = hub_db.conn.execute("SELECT code FROM coupons WHERE member_id = (SELECT member_id FROM cards"
                                      " WHERE card_id = 'A')").fetchall()
        assert coupons == [("BDAY-20",)]
    finally:
        ops.db.close()
