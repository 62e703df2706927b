"""Feed heads go per store and only when that store's feed moved (sync/hq/feedheads.py), from one hub at a
time; the chain-wide head still goes out now and then for kiosks of earlier releases."""
from __future__ import annotations

from kiosk.ledger import REFERENCE_RULES
from sync.hq import feedlog
from sync.hq.db import Db
from sync.hq.feedheads import LEGACY_EVERY, FeedHeads
from sync.hq.hub import Hub
from sync.hq.ingest import Ingest, feed_head
from sync.hq.retained import Retained
from sync.mqtt import Broker
from sync.protocol import generate, topics


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def hub_db(url: str) -> tuple[Db, Ingest]:
    db = Db(url)
    Retained(db).set_rules(REFERENCE_RULES.read_text())
    return db, Ingest(db, rederive=False)


def restock(ingest: Ingest, store: str) -> None:
    ingest.originate("restock", [{"op": "stock", "store_id": store, "sku": "G1", "delta": 1}], store_id=store,
                     at="2026-11-03T09:00:00Z")


def test_a_stores_head_is_due_only_when_its_feed_moved(tmp_path):
    db, ingest = hub_db(f"sqlite:///{tmp_path / 'hq.db'}")
    clock = Clock()
    heads = FeedHeads(db, clock)
    restock(ingest, "s1")
    restock(ingest, "s2")
    assert heads.due() == ({"s1": 1, "s2": 2}, 2)
    assert heads.due() == ({}, None)                        # nothing moved: nothing goes out
    restock(ingest, "s2")
    assert heads.due() == ({"s2": 3}, None)                 # s1's kiosks hear nothing; the chain-wide head waits
    clock.t += LEGACY_EVERY
    assert heads.due() == ({}, 3)
    heads.restart()                                         # reconnected: every head again
    assert heads.due() == ({"s1": 1, "s2": 3}, 3)
    db.close()


def test_one_hub_at_a_time_publishes_heads_and_the_next_one_sends_them_all(pg_url):
    (a, ingest), (b, _) = hub_db(pg_url), hub_db(pg_url)
    first, second = FeedHeads(a), FeedHeads(b)
    restock(ingest, "s1")
    feedlog.sequence(a)
    assert first.claim() and not second.claim()
    assert first.due()[0] == {"s1": 1}
    restock(ingest, "s2")
    first.release()                                         # hub a lost the broker
    assert second.claim() and not first.claim()
    assert second.due()[0] == {"s1": 1, "s2": 2}
    a.close()
    b.close()


def test_a_hubs_commits_leave_the_numbering_to_its_loop_before_the_heads(pg_url, tmp_path):
    """Numbering after each commit was 7 of a one-record batch's 30 statements: a hub's loop numbers what its
    commits logged, every poll, before it publishes the heads that tell kiosks about them."""
    hub = Hub(pg_url, Broker("mqtt://127.0.0.1:1"), generate(tmp_path / "hq.pem", tmp_path / "hq.pub"),
              key_file=str(tmp_path / "chain.key"))
    try:
        Retained(hub.db).set_rules(REFERENCE_RULES.read_text())
        restock(hub.ingest, "s1")
        waiting = "SELECT COUNT(*) FROM hq_log WHERE hq_seq IS NULL"
        assert hub.db.conn.execute(waiting).fetchone()[0] == 1 and feed_head(hub.db.conn) == 0
        hub.publish_changes()
        assert hub.db.conn.execute(waiting).fetchone()[0] == 0 and feed_head(hub.db.conn) == 1
    finally:
        hub.db.close()
        hub.answer_db.close()


def test_a_kiosk_subscribes_to_its_stores_head_not_the_chain_wide_one():
    downlinks = topics.SourceTopics("s1", "k1").downlinks()
    assert "kiosk/v1/hq/feed/s1" in downlinks and topics.FEED not in downlinks
