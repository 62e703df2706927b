"""Hostile sources against the shipped broker configuration and a real hub: whoever holds one
certificate of the chain (a kiosk's, a UI's) and tries what an attacker would. Every refusal
changes nothing, is logged, and reaches operations as a signed ``source_refused`` alert."""
from __future__ import annotations

import json
import logging

import pytest

from sync.hq.cli import main as kiosk_hq
from sync.hq.db import Db
from sync.mqtt import Broker
from sync.protocol import Codec, Verifier, topics
from sync.requester import Requester

from .conftest import confirmed_all, enrol, wait_for
from .mosquitto import Mosquitto, tls_client, tls_refused
from .pki import CA


class World:
    """The shipped broker, hub hq-1 behind head office's listener, kiosk k1 enrolled for store s1,
    and an operations client (hq-ops) collecting the hub's alerts."""

    def __init__(self, tmp_path, start_hub, hq_keys):
        self.ca = CA(tmp_path / "pki")
        self.broker = Mosquitto.shipped(tmp_path / "broker", self.ca.issue("localhost", server=True),
                                        self.ca.hq_path, self.ca.crl).start()
        self.db_url = f"sqlite:///{tmp_path / 'hq.db'}"
        enrol(self.db_url, "k1")
        self.hub = start_hub(self.broker.hq_url, tls=self.ca.issue("hq-1"), mount=topics.SOURCES_MOUNT)
        self.alerts: list[dict] = []
        self.hub_online = False
        self.hq_key = Verifier.load(hq_keys["public"])
        verifier = Codec("hq-ops", verifier=self.hq_key)
        self.ops = self.connect(self.ca.issue("hq-ops"), "hq-ops", self.broker.hq_port)
        self.ops.on_message = lambda c, u, msg: self._ops_message(verifier, msg)
        self.ops.subscribe([(topics.ALERTS, 1), (topics.hub_status("hq-1"), 1)])
        wait_for(lambda: self.hub_online, what="the hub subscribed")

    def _ops_message(self, verifier: Codec, msg) -> None:
        if msg.topic == topics.ALERTS:
            self.alerts.append(verifier.unpack(msg.payload, {"alert"})["body"])
        else:
            self.hub_online = b'"online"' in msg.payload

    @staticmethod
    def connect(files: dict, client_id: str, port: int):
        client = tls_client(files, client_id)
        client.acked = {}
        client.on_publish = lambda c, u, mid, rc, p: client.acked.__setitem__(mid, rc.value)
        client.connect("127.0.0.1", port)
        client.loop_start()
        wait_for(client.is_connected, what=f"{client_id} connected")
        return client

    def source(self, cn: str, client_id: str | None = None):
        """A client holding the certificate ``cn`` on the sources' listener."""
        return self.connect(self.ca.issue(cn), client_id or cn, self.broker.port)

    def refusal(self, source_id: str, words: str) -> dict:
        """The signed alert operations received for a refusal mentioning ``words``."""
        return wait_for(lambda: next((a for a in self.alerts if a["kind"] == "source_refused"
                                      and a["source_id"] == source_id and words in a["detail"]["reason"]), None),
                        what=f"a source_refused alert for {source_id}: {words}")

    def count(self, sql: str, *params) -> int:
        db = Db(self.db_url)
        try:
            return db.conn.execute(sql, params).fetchone()[0]
        finally:
            db.close()


@pytest.fixture
def world(tmp_path, start_hub, hq_keys, services, caplog):
    caplog.set_level(logging.WARNING, logger="sync")
    w = World(tmp_path, start_hub, hq_keys)
    yield w
    for service in reversed(services):      # hub and agents first, while the broker still answers
        service.stop()
    w.ops.loop_stop()
    w.ops.disconnect()
    w.broker.stop()


def batch_of(ledger, store: str | None = None) -> bytes:
    return Codec(ledger.kiosk_id).pack("tx.batch", {"store_id": store or ledger.store_id, "source_id": ledger.kiosk_id,
                                                    "records": ledger.journal()})


def refused_in_log(caplog, words: str) -> bool:
    return any("refused message" in r.getMessage() and words in r.getMessage() for r in caplog.records)


def test_an_unknown_source_is_refused_and_alerted(world, make_kiosk, caplog):
    evil = make_kiosk("hk-evil")
    evil.register(name="Mallory", phone="13800009999", card_id="CARD-EVIL", operator="admin")
    evil.topup("CARD-EVIL", 100_000_000, operator="admin")
    client = world.source("hk-evil")
    client.publish(topics.SourceTopics("s1", "hk-evil").tx, batch_of(evil), qos=1).wait_for_publish(5)
    alert = world.refusal("hk-evil", "not enrolled")
    assert alert["detail"]["topic"].endswith("kiosk/v1/s1/hk-evil/tx")
    assert refused_in_log(caplog, "source hk-evil is not enrolled")
    assert world.count("SELECT COUNT(*) FROM journal") == 0
    assert world.count("SELECT COUNT(*) FROM hq_sources WHERE source_id = 'hk-evil'") == 0
    assert world.count("SELECT COUNT(*) FROM hq_alerts WHERE kind = 'source_refused'") == 1

    # its UI asking for an authorization gets a plain no (not silence, which would mean offline limits)
    requester = Requester(Broker(world.broker.url, **world.ca.issue("hk-evil.ui")),
                          Codec("hk-evil", verifier=world.hq_key), topics.SourceTopics("s1", "hk-evil", "ui")).start()
    wait_for(requester.ready.is_set, what="the UI subscribed")
    answer = requester.ask("authorize", {"card_id": "CARD-EVIL", "spends": {"stored_value_fen": 100}}, 5)
    requester.close()
    assert answer["reason"] == "source_refused" and answer["result"] == {"approved": False}
    assert refused_in_log(caplog, "kiosk/v1/s1/hk-evil.ui/req")                   # logged every time...
    assert world.count("SELECT COUNT(*) FROM hq_alerts WHERE kind = 'source_refused'") == 1   # alerted once


def test_a_retired_source_is_refused_from_then_on(world, make_kiosk, start_agent, capsys):
    k1 = make_kiosk("k1")
    k1.register(name="Zhou Min", phone="13800001111", card_id="CARD-1", operator="admin")
    start_agent(k1, world.broker.url, tls=world.ca.issue("k1"), timeout=0.5)
    wait_for(lambda: confirmed_all(k1), what="k1 confirmed while enrolled")
    applied = world.count("SELECT COUNT(*) FROM journal WHERE kiosk_id = 'k1'")
    assert kiosk_hq(["retire", "--db", world.db_url, "k1", "--reason", "stolen from store s1"]) == 0
    assert json.loads(capsys.readouterr().out)["source_id"] == "k1"
    k1.topup("CARD-1", 5000, operator="admin")
    world.refusal("k1", "was retired")
    assert k1.outbox_backlog() == 1                         # the kiosk keeps it: nothing is confirmed
    assert world.count("SELECT COUNT(*) FROM journal WHERE kiosk_id = 'k1'") == applied
    assert kiosk_hq(["sources", "--db", world.db_url]) == 0
    (k1_row,) = json.loads(capsys.readouterr().out)
    assert (k1_row["enrolled"], k1_row["retired_reason"], k1_row["confirmed_to"]) == (False, "stolen from store s1", applied)


def test_a_source_claiming_another_store_or_its_ui_sending_records_is_refused(world, make_kiosk, caplog):
    k1 = make_kiosk("k1")
    k1.register(name="Wu Fang", phone="13800002222", card_id="CARD-2", operator="admin")
    client = world.source("k1")
    client.publish(topics.SourceTopics("s2", "k1").tx, batch_of(k1, "s2"), qos=1).wait_for_publish(5)
    world.refusal("k1", "claims store s2 but is enrolled for store s1")
    ui = world.source("k1.ui")
    ui.publish(topics.SourceTopics("s1", "k1", "ui").tx, batch_of(k1), qos=1).wait_for_publish(5)
    world.refusal("k1", "k1.ui is k1's ui and may not send records")
    assert refused_in_log(caplog, "may not send records")
    assert world.count("SELECT COUNT(*) FROM journal") == 0


def test_a_kiosk_certificate_cannot_take_the_hubs_or_another_kiosks_client_id(world, make_kiosk, start_agent, caplog):
    k1 = make_kiosk("k1")
    k1.register(name="Lin Tao", phone="13800003333", card_id="CARD-3", operator="admin")
    agent = start_agent(k1, world.broker.url, tls=world.ca.issue("k1"))
    wait_for(lambda: confirmed_all(k1), what="k1 confirmed")
    thieves = [world.source("k2", "hq-1"), world.source("k3", "k1")]     # the broker names them k2 and k3
    k1.topup("CARD-3", 1000, operator="admin")
    wait_for(lambda: confirmed_all(k1), what="k1 still confirmed through the hub")
    log = world.broker.log()
    assert "as k2 (" in log and "as k3 (" in log
    assert "already connected" not in log                   # nobody was knocked off
    assert world.hub.client.is_connected() and agent.client.is_connected()
    assert not any("disconnected from" in r.getMessage() for r in caplog.records)
    # and a source's certificate cannot even reach head office's listener
    assert tls_refused(world.ca.issue("k4"), "hq-2", world.broker.hq_port)
    assert not tls_refused(world.ca.issue("hq-2"), "hq-2", world.broker.hq_port)      # the real hq-2 may
    for thief in thieves:
        thief.loop_stop()
        thief.disconnect()


def test_a_kiosk_cannot_join_head_offices_shared_subscription(world, make_kiosk, start_agent):
    k1 = make_kiosk("k1")
    k1.register(name="He Jing", phone="13800004444", card_id="CARD-4", operator="admin")
    start_agent(k1, world.broker.url, tls=world.ca.issue("k1"))
    wait_for(lambda: confirmed_all(k1), what="k1 confirmed")
    spy = world.source("k2")
    stolen, granted = [], []
    spy.on_message = lambda c, u, msg: stolen.append(msg.topic)
    spy.on_subscribe = lambda c, u, mid, codes, p: granted.extend(codes)
    spy.subscribe([(topics.shared("hq", topics.ALL_REQ), 1), (topics.shared("hq", topics.ALL_TX), 1),
                   (topics.shared("hq", topics.SOURCES_MOUNT + topics.ALL_REQ), 1)])
    wait_for(lambda: len(granted) == 3, what="the spy's subscriptions answered")
    requester = Requester(Broker(world.broker.url, **world.ca.issue("k1.ui")), Codec("k1", verifier=world.hq_key),
                          topics.SourceTopics("s1", "k1", "ui")).start()
    wait_for(requester.ready.is_set, what="the UI subscribed")
    answers = [requester.ask("card.lookup", {"card_id": "CARD-4"}, 5) for _ in range(10)]
    requester.close()
    assert all(a and a["result"]["found"] for a in answers)      # 10 of 10: none went to the spy
    assert stolen == []
    spy.loop_stop()
    spy.disconnect()


def test_a_revoked_certificate_is_refused_by_the_broker(world, capsys):
    """Retiring stops head office listening; revoking stops the broker letting the kiosk in at all."""
    k5, k6 = world.ca.issue("k5"), world.ca.issue("k6")
    assert not tls_refused(k5, "k5", world.broker.port)
    assert kiosk_hq(["pki", "revoke", "--out", str(world.ca.folder), "k5"]) == 0
    assert json.loads(capsys.readouterr().out)["revoked"] == 1
    world.broker.reload()
    wait_for(lambda: tls_refused(k5, "k5", world.broker.port), what="the broker refusing k5's certificate")
    assert not tls_refused(k6, "k6", world.broker.port)


def test_a_kiosk_cannot_publish_on_another_kiosks_topics(world, make_kiosk):
    k2 = make_kiosk("k2")
    k2.register(name="Ma Lu", phone="13800005555", card_id="CARD-5", operator="admin")
    enrol(world.db_url, "k2")
    spy = world.source("k2")
    mine = spy.publish(topics.SourceTopics("s1", "k2").status, b"{}", qos=1)      # allowed: its own topic
    forged = [spy.publish(topic, batch_of(k2), qos=1) for topic in
              (topics.SourceTopics("s1", "k1").tx, topics.SourceTopics("s1", "k1").req,
               topics.SourceTopics("s1", "k1", "ui").req, topics.FEED, topics.ALERTS)]
    for info in (mine, *forged):
        info.wait_for_publish(5)
    wait_for(lambda: all(i.mid in spy.acked for i in (mine, *forged)), what="the broker's answers")
    assert spy.acked[mine.mid] in (0, 0x10)                   # success (0x10: nobody subscribed to it)
    assert [spy.acked[i.mid] for i in forged] == [0x87] * len(forged)       # not authorised: never delivered
    assert world.count("SELECT COUNT(*) FROM journal") == 0
    spy.loop_stop()
    spy.disconnect()


def test_head_office_pictures_reach_a_kiosk_and_no_kiosk_can_publish_one(world, make_kiosk, start_agent):
    from kiosk.demo_data import DEMO_PICTURES
    from kiosk.ledger import REFERENCE_RULES, pictures
    from sync.hq.retained import Retained

    db = Db(world.db_url)
    Retained(db).set_rules(REFERENCE_RULES.read_text())
    Retained(db).set_picture("GIFT-MUG", str(DEMO_PICTURES / "coffee-beans.png"))
    db.close()
    k1 = make_kiosk("k1")
    start_agent(k1, world.broker.url, tls=world.ca.issue("k1"))
    wait_for(lambda: pictures.cached(k1.path).get("GIFT-MUG"), what="the picture through the shipped broker")
    spy = world.source("k2")
    forged = spy.publish(topics.picture("GIFT-MUG"), b"{}", qos=1, retain=True)
    forged.wait_for_publish(5)
    wait_for(lambda: forged.mid in spy.acked, what="the broker's answer")
    assert spy.acked[forged.mid] == 0x87                    # not authorised: head office's topic
    spy.loop_stop()
    spy.disconnect()
