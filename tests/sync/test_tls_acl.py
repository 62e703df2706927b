"""TLS with a client certificate per kiosk, and per-kiosk ACLs enforced by the broker itself (the
shipped broker/mosquitto.conf and broker/acl; tests/sync/test_hostile.py tries them as an attacker)."""
from __future__ import annotations

import logging
import ssl

import pytest

from sync.hq.db import Db
from sync.protocol import Codec, topics

from .conftest import confirmed_all, wait_for
from .mosquitto import Mosquitto, tls_client
from .pki import CA


@pytest.fixture
def tls_world(tmp_path):
    ca = CA(tmp_path / "pki")
    server = ca.issue("localhost", server=True)
    mosq = Mosquitto.shipped(tmp_path / "tls-broker", server, ca.hq_path, ca.crl).start()
    yield ca, mosq
    mosq.stop()


def test_kiosk_syncs_over_tls_with_its_certificate(tmp_path, tls_world, make_kiosk, start_hub, start_agent):
    ca, mosq = tls_world
    start_hub(mosq.hq_url, tls=ca.issue("hq-1"), mount=topics.SOURCES_MOUNT)
    k1 = make_kiosk("k1")
    k1.register(name="Zhao Lei", phone="13800004444", card_id="CARD-T", operator="admin")
    start_agent(k1, mosq.url, tls=ca.issue("k1"))
    wait_for(lambda: confirmed_all(k1), what="confirmed over TLS")


def test_a_kiosk_cannot_touch_another_kiosks_topics(tmp_path, tls_world, make_kiosk, start_hub, start_agent):
    ca, mosq = tls_world
    start_hub(mosq.hq_url, tls=ca.issue("hq-1"), mount=topics.SOURCES_MOUNT)
    k1 = make_kiosk("k1")
    k1.register(name="Sun Li", phone="13800005555", card_id="CARD-U", operator="admin")
    start_agent(k1, mosq.url, tls=ca.issue("k1"))
    wait_for(lambda: confirmed_all(k1), what="k1 confirmed")

    # k2 subscribes to k1's confirmations: Mosquitto checks read access on delivery, so k2 gets
    # head office's broadcasts (allowed) but never one of k1's confirmations
    spy = tls_client(ca.issue("k2"), "k2-spy")
    seen, acked = [], {}
    spy.on_message = lambda c, u, msg: seen.append(topics.unmounted(msg.topic))
    spy.on_publish = lambda c, u, mid, rc, p: acked.__setitem__(mid, rc)
    spy.connect("127.0.0.1", mosq.port)
    spy.loop_start()
    st1 = topics.SourceTopics("s1", "k1")
    spy.subscribe([(st1.ack, 1), (topics.FEED, 1), (topics.feed_head("s1"), 1)])
    wait_for(lambda: {topics.FEED, topics.feed_head("s1")} <= set(seen), what="the spy receives what it may read")
    k1.topup("CARD-U", 100, operator="admin")
    wait_for(lambda: confirmed_all(k1), what="k1 topup confirmed (an ack went to k1)")

    # k2 publishes a batch in k1's name: the broker refuses it and head office never sees it
    record = k1.journal(limit=1)[0]
    forged = {**record, "tx_id": "00000000-0000-4000-8000-000000000001", "seq": 99}
    info = spy.publish(st1.tx, Codec("k2").pack("tx.batch", {"store_id": "s1", "source_id": "k1",
                                                             "records": [forged]}), qos=1)
    info.wait_for_publish(5)
    wait_for(lambda: info.mid in acked, what="the broker's answer to k2's publish")
    assert acked[info.mid].value == 0x87                              # not authorized
    k1.topup("CARD-U", 300, operator="admin")          # a real one afterwards, to know the hub is past it
    wait_for(lambda: confirmed_all(k1), what="k1 topup confirmed")
    db = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    assert db.conn.execute("SELECT COUNT(*) FROM journal WHERE tx_id = ?", (forged["tx_id"],)).fetchone()[0] == 0
    assert db.conn.execute("SELECT COUNT(*) FROM hq_parked").fetchone()[0] == 0
    db.close()
    assert st1.ack not in seen
    spy.loop_stop()
    spy.disconnect()


def test_a_client_without_a_certificate_is_refused(tls_world):
    ca, mosq = tls_world
    client = tls_client({"ca": ca.path}, "nobody")
    with pytest.raises((ssl.SSLError, OSError)):
        client.connect("127.0.0.1", mosq.port)
        client.loop(2)
        client.loop(2)
        if not client.is_connected():
            raise OSError("not connected")


def test_a_hub_started_without_the_mount_point_says_why_nothing_arrives(tls_world, start_hub, caplog):
    ca, mosq = tls_world
    caplog.set_level(logging.ERROR, logger="sync.hq")
    start_hub(mosq.hq_url, tls=ca.issue("hq-1"))                    # --mount sources/ forgotten
    wait_for(lambda: any("refused a publish by hq-1" in r.getMessage() for r in caplog.records),
             what="the hub's complaint about the refused publish")
