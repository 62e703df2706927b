"""Kiosk resends against a real Mosquitto and hub: a hub that is slow to confirm gets the oldest
unconfirmed batch again, never the whole window (the resend storm of issue 15)."""
import json
import logging
import uuid
from types import SimpleNamespace

from kiosk.ledger import pii
from sync.protocol import Codec, topics

from .conftest import confirmed_all, wait_for


def test_a_hub_slow_to_confirm_does_not_receive_the_window_again(broker, start_hub, make_kiosk, start_agent):
    kiosk = make_kiosk("k1")
    kiosk.register(name="Zhou Yu", phone="13800007777", card_id="C1", operator="admin")
    while len(kiosk.journal()) < 20:
        kiosk.topup("C1", 100, operator="admin")           # 20 records: a window of 4 batches of 5
    hub = start_hub(broker.url)
    wait_for(lambda: hub.probed.is_set(), what="the hub subscribed")
    with hub.lock:          # the hub is busy: nothing is applied or confirmed while the kiosk waits
        agent = start_agent(kiosk, broker.url, batch=5, window=4, timeout=0.2)
        wait_for(lambda: hub.batches.qsize() >= 5, what="the window and a resend queued at the hub")
        wait_for(lambda: agent.sender.timeout >= 0.8, what="the kiosk backing off")
    wait_for(lambda: confirmed_all(kiosk), what="everything confirmed")
    # the resends were queued behind the originals: the last original's ack can come before they are handled
    wait_for(lambda: hub.stats["records"] > 20 and hub.batches.empty(), what="the queued resends handled")
    assert hub.stats["applied"] == 20
    resent = hub.stats["records"] - 20
    assert 0 < resent <= 10, f"{resent} records resent: the oldest batch at most twice, never the window"


def test_queued_resends_are_acknowledged_without_applying_them_again(broker, start_hub, make_kiosk, start_agent):
    """The hub's inbox holds the window and the kiosk's resends behind it: each original goes through the
    database once, each resend is answered from what head office holds (before: every one was applied
    again, in a write transaction, only to be counted duplicates)."""
    kiosk = make_kiosk("k1")
    kiosk.register(name="Zhou Yu", phone="13800007777", card_id="C1", operator="admin")
    while len(kiosk.journal()) < 20:
        kiosk.topup("C1", 100, operator="admin")
    hub = start_hub(broker.url)
    applied_batches = []
    batch = hub.ingest.batch
    hub.ingest.batch = lambda *args, **kw: applied_batches.append(len(args[3])) or batch(*args, **kw)
    wait_for(lambda: hub.probed.is_set(), what="the hub subscribed")
    with hub.lock:
        start_agent(kiosk, broker.url, batch=5, window=4, timeout=0.2)
        wait_for(lambda: hub.batches.qsize() >= 6, what="the window and resends queued at the hub")
    wait_for(lambda: confirmed_all(kiosk), what="everything confirmed")
    wait_for(lambda: hub.stats["records"] > 25 and hub.batches.empty(), what="the queued resends handled")
    assert applied_batches == [5, 5, 5, 5] and hub.stats["applied"] == 20
    assert hub.stats["skipped"] == hub.stats["batches"] - 4 >= 2


def test_a_resend_hears_the_corrections_again_and_a_conflicting_one_takes_the_full_path(
        broker, start_hub, make_kiosk, enrolment):
    kiosk = make_kiosk("k1")
    kiosk.register(name="Zhou Yu", phone="13800007777", card_id="C1", operator="admin")
    kiosk.topup("C1", 100, operator="admin")
    enrolment(kiosk=kiosk)
    hub = start_hub(broker.url)
    sent = []
    hub._to_sources = lambda topic, payload, **kw: sent.append((topic, json.loads(payload)))
    records = kiosk.journal()
    agent = Codec("k1")

    def batch(records: list[dict]) -> None:
        with hub.lock:
            hub._batch("s1", "k1", agent.pack("tx.batch", {"store_id": "s1", "source_id": "k1", "records": records,
                                                           "keys": pii.keys_for(kiosk.conn, records)}))
    batch(records)
    with hub.db.transaction():          # a correction head office made for the top-up (its ack was lost)
        hub.db.conn.execute("INSERT INTO hq_corrections (tx_id, source_id, seq, kind, detail, at)"
                            " VALUES (?, 'k1', ?, 'debt', '{}', 'x')", (records[-1]["tx_id"], records[-1]["seq"]))
    batch(records)
    assert hub.stats["skipped"] == 1
    ack = sent[-1][1]["body"]
    assert ack["hwm"] == len(records) and [c["tx_id"] for c in ack["corrections"]] == [records[-1]["tx_id"]]
    forged = [*records[:-1], {**records[-1], "tx_id": str(uuid.uuid4())}]     # another tx at a seq head office holds
    batch(forged)
    assert hub.stats["skipped"] == 1 and hub.stats["duplicates"] == 2 * len(records)
    assert hub.db.conn.execute("SELECT COUNT(*) FROM hq_alerts WHERE kind = 'conflict'").fetchone()[0] == 1


def test_a_hostile_batch_is_dropped_with_its_reason_before_the_resend_check(broker, start_hub, caplog):
    """The resend check reads the payload the protocol's guarded parser made (once, for the full path too):
    before, it ran plain json.loads first, and 100,000 nested arrays raised RecursionError there."""
    hub = start_hub(broker.url)
    caplog.set_level(logging.WARNING, logger="sync.hq")
    hub._handle(SimpleNamespace(topic=topics.SourceTopics("s1", "k1").tx, payload=b"[" * 100_000, mid=1, qos=1))
    logged = [r.getMessage() for r in caplog.records]
    assert any("dropped" in m and "nested deeper than 32" in m for m in logged), logged
    assert not any("could not handle" in m for m in logged)
