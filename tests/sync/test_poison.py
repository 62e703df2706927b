"""Poison is dropped, never fatal: hostile payloads are refused before parsing, a retained bad
message cannot stop the agent, oversized records never reach the feed, and head office's signing
key can be rotated without a flag day."""
import json
import logging

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from sync.hq.authority import FEED_PAGE_BYTES, Authority
from sync.hq.db import Db
from sync.hq.ingest import Ingest
from sync.protocol import Codec, Dropped, Signer, Verifier, generate, topics

from .conftest import confirmed_all, enrol, wait_for

HOSTILE = {
    "100,000 nested arrays": b"[" * 100_000,
    "5,000 nested objects": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "a 5,000-digit integer": b'{"v":' + b"9" * 5000 + b"}",
    "a float": b'{"v":1.5}',
    "NaN": b'{"v":NaN}',
    "not UTF-8": b"\xff\xfe{}",
    "not an object": b"[]",
    "too large": b" " * (8 * 1024 * 1024 + 1),
}


@pytest.mark.parametrize("payload", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_payloads_are_dropped_with_a_reason(payload):
    with pytest.raises(Dropped):
        Codec("k1").unpack(payload, {"status"})


def raw_client(broker, name: str) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=name, protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    return client


def hub_listening(client: mqtt.Client, hub_id: str = "hq-1") -> None:
    """Wait until the hub has subscribed: it announces itself online only after its SUBSCRIBE."""
    seen = []
    client.on_message = lambda c, u, msg: seen.append(b'"online"' in msg.payload)
    client.subscribe(topics.hub_status(hub_id), qos=1)
    wait_for(lambda: any(seen), what="the hub online")


def test_retained_poison_cannot_stop_the_agent_or_the_hub(broker, start_hub, make_kiosk, start_agent, caplog):
    caplog.set_level(logging.WARNING)
    evil = raw_client(broker, "mallory")
    retained = {topics.RULES: "100,000 nested arrays", topics.LIMITS: "a 5,000-digit integer",
                topics.BLOCKLIST: "5,000 nested objects", topics.STAFF: "not UTF-8",
                topics.SourceTopics("s1", "k1").ack: "NaN"}
    for topic, name in retained.items():       # retained: every (re)connect of every agent gets them again
        evil.publish(topic, HOSTILE[name], qos=1, retain=True).wait_for_publish(5)
    k = make_kiosk("k1")
    k.register(name="Kong Li", phone="13800005555", card_id="CARD-X", operator="admin")
    hub = start_hub(broker.url)
    hub_listening(evil)
    for payload in HOSTILE.values():
        evil.publish(topics.SourceTopics("s1", "k1").tx, payload, qos=1).wait_for_publish(5)
    agent = start_agent(k, broker.url)
    wait_for(lambda: confirmed_all(k), what="the kiosk's transactions confirmed despite the poison")
    k.topup("CARD-X", 1000, operator="admin")
    wait_for(lambda: confirmed_all(k), what="a later transaction confirmed too")
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    for reason in ("nested deeper than 32", "integer of 5000 digits", "not JSON", "non-integer number NaN"):
        assert sum(reason in m for m in dropped) >= 2, (reason, dropped)        # by the agent and by the hub
    assert hub.failure is None and agent.client.is_connected()
    evil.loop_stop()
    evil.disconnect()


def test_oversized_records_are_refused_and_feed_pages_are_bounded_in_bytes(tmp_path, broker, start_hub, caplog):
    start_hub(broker.url)
    enrol(f"sqlite:///{tmp_path / 'hq.db'}", "k1")          # an enrolled source sending a huge record
    evil = raw_client(broker, "mallory")
    hub_listening(evil)
    record = {"v": 1, "tx_id": "5b0b6a6e-0000-4000-8000-000000000001", "kiosk_id": "k1", "store_id": "s1",
              "channel": "kiosk", "seq": 1, "kind": "checkin", "at": "2026-11-24T02:00:00.000000Z",
              "operator": "self", "member_id": "m1", "ref_tx": None, "reason": "", "data": {"note": "x" * 100_000},
              "effects": [{"op": "checkin", "member_id": "m1", "day": "2026-11-24"}]}
    caplog.set_level(logging.WARNING, logger="sync.hq")
    evil.publish(topics.SourceTopics("s1", "k1").tx, Codec("k1").pack(
        "tx.batch", {"store_id": "s1", "source_id": "k1", "records": [record]}), qos=1).wait_for_publish(5)
    wait_for(lambda: any("at most 65536" in r.getMessage() for r in caplog.records), what="the big record refused")
    evil.loop_stop()
    evil.disconnect()

    # records already in the journal (say, from before the limit) are served in pages of at most ~1 MB
    db = Db(f"sqlite:///{tmp_path / 'feed.db'}")
    big = [{**record, "tx_id": f"5b0b6a6e-0000-4000-8000-{n:012d}", "seq": n, "data": {"note": "y" * 60_000},
            "kind": "note", "effects": []} for n in range(1, 41)]
    Ingest(db, rederive=False).batch("s1", "k1", "kiosk", big)      # effectless notes: only their size matters
    authority, after, seen, pages = Authority(db), 0, [], 0
    while True:
        _, page = authority.feed({"after": after, "limit": 1000, "source_id": "k2", "store_id": "s1"})
        if page["last"] == after:
            break
        pages += 1
        assert len(json.dumps(page["records"]).encode()) <= FEED_PAGE_BYTES + 65536
        seen += [r["seq"] for r in page["records"]]
        after = page["last"]
    assert seen == list(range(1, 41)) and pages >= 3                  # nothing lost, nothing repeated
    db.close()


def test_head_office_rotates_its_signing_key_without_a_flag_day(tmp_path):
    old = generate(tmp_path / "old.pem", tmp_path / "old.pub")
    new = generate(tmp_path / "new.pem", tmp_path / "new.pub")
    both = tmp_path / "hq-keys.pub"                       # step 1: kiosks get current + next
    both.write_bytes((tmp_path / "old.pub").read_bytes() + (tmp_path / "new.pub").read_bytes())
    for signer in (old, new):                             # step 2: head office switches; both verify
        Codec("k1", verifier=Verifier.load(both)).unpack(Codec("hq-1", "hq", signer=signer).pack("feed.head", {"head": 1}), {"feed.head"})
    only_old = Codec("k1", verifier=Verifier.load(tmp_path / "old.pub"))
    with pytest.raises(Dropped, match="bad signature"):   # a kiosk that missed step 1 refuses the new key
        only_old.unpack(Codec("hq-1", "hq", signer=new).pack("feed.head", {"head": 1}), {"feed.head"})
    stranger = generate(tmp_path / "x.pem", tmp_path / "x.pub")
    with pytest.raises(Dropped, match="bad signature"):
        Codec("k1", verifier=Verifier.load(both)).unpack(Codec("hq-1", "hq", signer=stranger).pack("feed.head", {"head": 1}), {"feed.head"})
    assert isinstance(Signer.load(tmp_path / "new.pem"), Signer)
