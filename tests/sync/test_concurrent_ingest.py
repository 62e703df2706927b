"""Several hubs on one PostgreSQL database ingest at the same time (issue 15): no global lock, yet the
same balances as one hub applying everything in turn, no deadlock reaching anyone, and a feed that a
kiosk following it never sees with a gap or a repeat. Skipped with the reason when PostgreSQL is
unreachable (``pg_url``)."""
from __future__ import annotations

import threading

import psycopg
import pytest

from kiosk.ledger import REFERENCE_RULES, Ledger, lines_from_amount, pii
from sync.hq import feedlog
from sync.hq.authority import Authority
from sync.hq.db import Db
from sync.hq.ingest import Ingest, balances
from sync.hq.retained import Retained

RULES = REFERENCE_RULES.read_text()
MEMBERS, BATCH, RESTOCKS = 6, 4, 5


@pytest.fixture
def kiosks(tmp_path, chain_key_file):
    """Two kiosks of one store; members registered and topped up at k1 (known to k2), then both serve
    them offline, each spending the same stored value."""
    key = pii.load_or_make(chain_key_file)
    k1, k2 = (Ledger.create(tmp_path / f"{k}.db", kiosk_id=k, store_id="s1", rules_text=RULES,
                            at="2026-01-01T08:00", pii_key=key) for k in ("k1", "k2"))
    cards = [f"C{i}" for i in range(MEMBERS)]
    for i, card in enumerate(cards):
        k1.register(name=f"M{i}", phone=f"1380000{i:04d}", card_id=card, operator="admin", at="2026-11-01T09:00")
        k1.topup(card, 5000, operator="admin", at="2026-11-01T09:30")
    registered = k1.journal()
    k2.accept_keys(pii.keys_for(k1.conn, registered))
    for record in registered:
        k2.ingest(record)
    for day, kiosk in ((2, k1), (3, k2)):        # each kiosk its own day: one check-in per member and day
        for i, card in enumerate(cards):     # both spend the same stored value offline: one overdraws
            kiosk.purchase(card, lines_from_amount(4000), pay="stored-value", operator="admin",
                           at=f"2026-11-0{day}T09:00")
            kiosk.purchase(card, lines_from_amount(2000 + 10 * i), operator="admin", at=f"2026-11-0{day}T11:00")
            kiosk.checkin(card, at=f"2026-11-0{day}T12:00")
    yield k1, k2, len(registered)
    k1.close()
    k2.close()


def batches(kiosk: Ledger, skip: int) -> list[tuple[list[dict], dict]]:
    records = kiosk.journal(limit=100000)[skip:]
    return [(records[i:i + BATCH], pii.keys_for(kiosk.conn, records[i:i + BATCH]))
            for i in range(0, len(records), BATCH)]


def hub(url: str) -> Ingest:
    return Ingest(Db(url))


def books(db: Db) -> list[tuple]:
    """Every member's balances, the journal's size and the overdrafts found (each member's second spend
    of the same stored value): what must not depend on who ingested when."""
    members = {m for (m,) in db.conn.execute("SELECT member_id FROM members").fetchall()}
    (journaled,) = db.conn.execute("SELECT COUNT(*) FROM journal").fetchone()
    (overdrafts,) = db.conn.execute("SELECT COUNT(*) FROM hq_corrections WHERE kind = 'overdraft'").fetchone()
    return [tuple(v for k, v in b.items() if k != "as_of") for b in balances(db.conn, members, 0, "2026-11-04")] \
        + [("journal", journaled), ("overdrafts", overdrafts)]


def test_two_hubs_ingest_the_same_members_at_once_as_one_hub_does_in_turn(tmp_path, pg_url, kiosks):
    k1, k2, registered = kiosks
    serial = hub(f"sqlite:///{tmp_path / 'serial.db'}")
    Retained(serial.db).set_rules(RULES)
    a, b = hub(pg_url), hub(pg_url)
    Retained(a.db).set_rules(RULES)
    for ingest in (serial, a):       # the registrations first: the other kiosk's records name these members
        ingest.batch("s1", "k1", "kiosk", k1.journal()[:registered], pii.keys_for(k1.conn, k1.journal()[:registered]))
    work = {"k1": batches(k1, registered), "k2": batches(k2, 0)}
    for source, items in work.items():
        for records, keys in items:
            serial.batch("s1", source, "kiosk", records, keys)

    errors, start = [], threading.Barrier(2)

    def run(ingest: Ingest, source: str) -> None:
        try:
            start.wait()
            for records, keys in work[source]:
                out = ingest.batch("s1", source, "kiosk", records, keys)
                assert {c["kind"] for c in out.corrections} <= {"overdraft"}     # the second spend of each member
        except BaseException as exc:          # noqa: BLE001 - reported by the test thread
            errors.append(exc)
    threads = [threading.Thread(target=run, args=(a, "k1")), threading.Thread(target=run, args=(b, "k2"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert books(a.db) == books(serial.db)
    hwms = dict(a.conn.execute("SELECT source_id, hwm FROM hq_sources").fetchall())
    assert hwms == {"k1": len(k1.journal()), "k2": len(k2.journal())}
    for ingest in (serial, a, b):
        ingest.db.close()


def test_a_feed_reader_never_misses_or_repeats_a_row_while_hubs_commit_at_once(pg_url, kiosks):
    k1, k2, registered = kiosks
    hubs = [hub(pg_url) for _ in range(3)]
    Retained(hubs[0].db).set_rules(RULES)
    hubs[0].batch("s1", "k1", "kiosk", k1.journal()[:registered], pii.keys_for(k1.conn, k1.journal()[:registered]))
    reader = Authority(Db(pg_url))
    done, errors, seen = threading.Event(), [], []

    def follow() -> None:
        """A kiosk following the feed: always from the last position it was given."""
        position = 0
        while True:
            finished = done.is_set()
            _, page = reader.feed({"after": position, "limit": 7, "source_id": "", "store_id": "s1"})
            seen.extend(r["tx_id"] for r in page["records"])
            position = page["last"]
            if finished and position == page["head"]:
                return

    def ingest(h: Ingest, work: list) -> None:
        try:
            for records, keys in work:
                h.batch("s1", records[0]["kiosk_id"], "kiosk", records, keys)
        except BaseException as exc:          # noqa: BLE001
            errors.append(exc)
    def restock(h: Ingest) -> None:          # head office's own records, from a third hub
        for i in range(RESTOCKS):
            h.originate("restock", [{"op": "stock", "store_id": "s1", "sku": f"G{i}", "delta": 1}], store_id="s1",
                        at="2026-11-03T09:00:00Z")
    writers = [threading.Thread(target=ingest, args=(hubs[0], batches(k1, registered))),
               threading.Thread(target=ingest, args=(hubs[1], batches(k2, 0))),
               threading.Thread(target=restock, args=(hubs[2],))]
    follower = threading.Thread(target=follow)
    follower.start()
    for t in writers:
        t.start()
    for t in writers:
        t.join(120)
    feedlog.sequence(hubs[0].db)         # as a hub's loop does: positions for rows left waiting
    done.set()
    follower.join(60)
    assert errors == [] and not follower.is_alive()
    logged = [t for (t,) in reader.conn.execute("SELECT tx_id FROM hq_log ORDER BY hq_seq").fetchall()]
    assert len(seen) == len(set(seen)) and seen == logged
    assert len(seen) == len(k1.journal()) + len(k2.journal()) + RESTOCKS
    for h in (*hubs, reader):
        h.db.close()


def test_a_row_gets_its_position_after_its_transaction_commits(pg_url):
    """Transaction A logs a row and stays open; B logs one after it and commits first. A position given
    at insert time would put A's row behind B's, where a reader already past B never looks; instead
    B's row is numbered at its commit and A's, at its own, after it."""
    first, second, reader = Db(pg_url), Db(pg_url), Authority(Db(pg_url))
    with first.transaction([]):
        feedlog.append(first, ["tx-a"])
        with second.transaction([]):
            feedlog.append(second, ["tx-b"])
        assert reader.conn.execute("SELECT tx_id, hq_seq FROM hq_log WHERE hq_seq IS NOT NULL").fetchall() == [
            ("tx-b", 1)]
        assert reader.head() == 1
    assert reader.conn.execute("SELECT tx_id, hq_seq FROM hq_log WHERE hq_seq > 1").fetchall() == [("tx-a", 2)]
    for db in (first, second, reader.db):
        db.close()


def test_a_lost_deadlock_is_run_again(pg_url):
    """:meth:`Db.retrying` runs a transaction again after PostgreSQL picked it as a deadlock's victim."""
    db, calls = Db(pg_url), []

    def work() -> int:
        calls.append(1)
        if len(calls) < 3:
            raise psycopg.errors.DeadlockDetected("deadlock detected")
        return len(calls)
    assert db.retrying(work) == 3
    db.close()
