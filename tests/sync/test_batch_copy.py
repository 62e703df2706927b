"""On PostgreSQL a batch's members are read and written in a copy in memory (sync/hq/batchcopy.py): a batch
costs the same statements whatever its size, and the ledger ends exactly where the SQLite hub (which never
copies) leaves it, also when the copy cannot serve a statement or PostgreSQL refuses what it wrote back."""
from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kiosk.ledger import REFERENCE_RULES, Ledger, lines_from_amount, pii
from kiosk.ledger.errors import LedgerError
from kiosk.ledger.journal import seal
from sync.hq.db import Db
from sync.hq.ingest import Ingest
from sync.hq.retained import Retained

from .conftest import PG_ADMIN, _fresh_pg_database
from .test_ingest_statements import Counting
from .test_rederive import FULL, every_kind, hub, kiosk, send  # noqa: F401  (kiosk: a fixture)
from .test_rederive_batch import journaled, projections


def test_every_kind_in_one_batch_leaves_the_ledger_as_the_sqlite_hub_does(kiosk: Ledger, tmp_path, pg_url):
    every_kind(kiosk)
    records = kiosk.journal()
    pg, lite = hub(pg_url), hub(f"sqlite:///{tmp_path / 'hq.db'}")
    counting = pg.db.conn.pg = Counting(pg.db.conn.pg)
    for hq in (pg, lite):
        out = send(hq, kiosk, records)
        assert out.applied == len(records) and out.corrections == [] and out.alerts == []
    assert counting.starting("SAVEPOINT") == 0         # the copy served it: no record had to be run again
    assert projections(pg) == projections(lite)
    assert journaled(pg) == journaled(lite)
    pg.db.close(), lite.db.close()


def counter_day(kiosk: Ledger, first: int, members: int) -> None:
    """Each member: registered, topped up, a purchase paid from it, a purchase earning points, a check-in."""
    for i in range(first, first + members):
        card = f"C{i}"
        kiosk.register(name=f"M{i}", phone=f"1390000{i:04d}", card_id=card, operator="admin", at="2026-11-01T09:00")
        kiosk.topup(card, 20_000, operator="admin", at="2026-11-01T09:10")
        kiosk.purchase(card, lines_from_amount(5_000), pay="stored-value", operator="admin", at="2026-11-01T09:20")
        kiosk.purchase(card, lines_from_amount(3_000 + i), operator="admin", at="2026-11-01T10:00")
        kiosk.checkin(card, at="2026-11-01T11:00")


def test_a_batch_costs_the_same_statements_whatever_its_size(tmp_path, pg_url):
    kiosk = Ledger.create(tmp_path / "k1.db", kiosk_id="k1", store_id="s1", rules_text=REFERENCE_RULES.read_text(),
                          at="2026-01-01T08:00", pii_key=pii.load_or_make(os.environ["KIOSK_HQ_KEY"]))
    counter_day(kiosk, 0, 1)
    opening = kiosk.journal()       # the gifts' stock and a first member: what is read once a hub is done
    counter_day(kiosk, 1, 2)
    small = kiosk.journal()[len(opening):]
    counter_day(kiosk, 3, 12)
    large = kiosk.journal()[len(opening) + len(small):]
    assert len(large) == 6 * len(small) == 60
    db = Db(pg_url)
    db.sequence_on_commit = False       # as a hub: its loop numbers the feed rows once a second
    Retained(db).set_rules(REFERENCE_RULES.read_text())
    ingest = Ingest(db)
    send(ingest, kiosk, opening)
    counting = db.conn.pg = Counting(db.conn.pg)
    sent = []
    for batch in (small, large):
        counting.sent.clear()
        out = send(ingest, kiosk, batch)
        assert out.applied == len(batch) and out.corrections == []
        sent.append(sum(counting.sent.values()))
    assert sent[0] == sent[1] == 16, sent
    db.close()


def test_a_card_another_member_holds_is_refused_as_the_sqlite_hub_refuses_it(tmp_path, pg_url):
    """Two kiosks issue the same card to two new members while offline: PostgreSQL refuses the copy's card
    row when it is written back, the batch runs again a record at a time, and the second registration (and
    what follows it) is rejected exactly as on SQLite."""
    key = pii.load_or_make(os.environ["KIOSK_HQ_KEY"])
    first, second = (Ledger.create(tmp_path / f"{k}.db", kiosk_id=k, store_id="s1", rules_text=FULL,
                                   at="2026-01-01T08:00", pii_key=key) for k in ("k1", "k2"))
    first.register(name="A", phone="13800000001", card_id="X", operator="admin", at="2026-11-01T09:00")
    second.register(name="Y", phone="13800000009", card_id="Y", operator="admin", at="2026-11-01T09:00")
    second.register(name="B", phone="13800000002", card_id="X", operator="admin", at="2026-11-01T09:05")
    second.topup("X", 10_000, operator="admin", at="2026-11-01T09:06")
    second.topup("Y", 10_000, operator="admin", at="2026-11-01T09:07")
    outcomes = []
    for hq in (hub(pg_url), hub(f"sqlite:///{tmp_path / 'hq.db'}")):
        send(hq, first, first.journal(), source="k1")
        out = send(hq, second, second.journal(), source="k2")
        assert out.again        # the first run refused the card (at write-back on PostgreSQL): a record at a time
        outcomes.append(([(c["seq"], c["kind"]) for c in out.corrections], out.applied, projections(hq)))
        hq.db.close()
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == [(3, "rejected"), (4, "rejected")] and outcomes[0][1] == 3   # stock, Y, Y's top-up


def test_a_tier_window_longer_than_the_copy_reads_the_database(tmp_path, pg_url):
    """The copy holds a year of qualifying spend; rules counting three years read the rest from PostgreSQL
    (a purchase 20 months back still counts towards the tier), at the first go: re-derived from the copy
    alone the record would differ and the batch would run again a record at a time."""
    rules = FULL.replace("window_months = 12", "window_months = 36")
    kiosk = Ledger.create(tmp_path / "k1.db", kiosk_id="k1", store_id="s1", rules_text=rules, at="2025-01-01T08:00",
                          pii_key=pii.load_or_make(os.environ["KIOSK_HQ_KEY"]))
    kiosk.register(name="A", phone="13800000001", card_id="A", operator="admin", at="2025-03-01T09:00")
    kiosk.purchase("A", lines_from_amount(60_000), operator="admin", at="2025-03-01T10:00")
    earlier = kiosk.journal()
    bought = kiosk.purchase("A", lines_from_amount(50_000), operator="admin", at="2026-11-20T10:00")
    assert bought["tier"] == "normal"       # 600 + 500 yuan in the window: the kiosk upgrades the member
    db = Db(pg_url)
    Retained(db).set_rules(rules)
    hq = Ingest(db)
    send(hq, kiosk, earlier)
    counting = db.conn.pg = Counting(db.conn.pg)
    out = send(hq, kiosk, kiosk.journal()[len(earlier):])
    assert out.applied == 1 and out.corrections == []
    assert counting.starting("SAVEPOINT") == 0
    assert db.conn.execute("SELECT tier FROM members").fetchone()[0] == "normal"
    db.close()


@pytest.mark.parametrize("cut", [1, 5])
def test_a_resent_batch_applies_nothing_twice(kiosk: Ledger, pg_url, cut):
    """A batch sent again, whole or from part-way, changes nothing (the copy is never written back twice)."""
    every_kind(kiosk)
    records = kiosk.journal()
    hq = hub(pg_url)
    send(hq, kiosk, records)
    before = projections(hq)
    out = send(hq, kiosk, records[cut:])
    assert out.applied == 0 and out.duplicates == len(records) - cut
    assert projections(hq) == before
    hq.db.close()


def test_a_card_id_that_is_not_text_is_looked_up_by_postgresql_not_the_copy(tmp_path, pg_url):
    """SQLite finds card "5" for the number 5; PostgreSQL refuses to compare a number with a card id. A
    record whose inputs name the card as a number is rejected, as it was before the copy: the copy serves
    only what PostgreSQL would answer the same."""
    key = pii.load_or_make(os.environ["KIOSK_HQ_KEY"])
    kiosk = Ledger.create(tmp_path / "k1.db", kiosk_id="k1", store_id="s1", rules_text=FULL, at="2026-01-01T08:00",
                          pii_key=key)
    kiosk.register(name="A", phone="13800000001", card_id="5", operator="admin", at="2026-11-01T09:00")
    kiosk.purchase("5", lines_from_amount(3_000), operator="admin", at="2026-11-01T10:00")
    kiosk.purchase("5", lines_from_amount(4_000), operator="admin", at="2026-11-01T10:05")
    records = kiosk.journal()
    records[-1]["inputs"]["args"]["card_id"] = 5
    records[-1]["inputs"]["card_id"] = 5
    seal(records[-1], records[-2]["hash"])
    hq = hub(pg_url)
    out = send(hq, kiosk, records)
    assert [c["seq"] for c in out.corrections] == [records[-1]["seq"]] and out.applied == len(records) - 1
    hq.db.close()


# -- any counter day, cut into any batches -------------------------------------------------------------
OPERATIONS = st.lists(st.tuples(
    st.sampled_from(["topup", "purchase", "purchase_sv", "points_cash", "checkin", "refund", "coupon", "redeem"]),
    st.sampled_from(["A", "B"]), st.integers(min_value=1, max_value=400)), min_size=1, max_size=14)


def counter_work(kiosk: Ledger, operations: list[tuple[str, str, int]]) -> None:
    """The operations a kiosk would take (the ones it refuses, such as a redeem without the points, are left out)."""
    bought = []
    for n, (what, card, yuan) in enumerate(operations):
        at = f"2026-11-{2 + n:02d}T10:00"
        fen = yuan * 100
        try:
            if what == "topup":
                kiosk.topup(card, fen, operator="admin", at=at)
            elif what in ("purchase", "purchase_sv", "points_cash"):
                bought.append(kiosk.purchase(card, lines_from_amount(fen), pay="stored-value" if what == "purchase_sv"
                                             else "external", points_cash=100 if what == "points_cash" else 0,
                                             operator="admin", at=at)["tx_id"])
            elif what == "checkin":
                kiosk.checkin(card, at=at)
            elif what == "refund" and bought:
                kiosk.refund(bought[-1], 100, operator="admin", at=at)
            elif what == "coupon":
                kiosk.issue_coupon(card, "C10", operator="admin", at=at)
                kiosk.purchase(card, lines_from_amount(max(fen, 5_000)), coupons=["C10"], operator="admin", at=at)
            elif what == "redeem":
                kiosk.redeem(card, kiosk.rules.gifts[0].sku, operator="admin", at=at)
        except LedgerError:
            pass


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS, cuts=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=8))
def test_any_counter_work_in_any_batches_ends_as_on_sqlite(tmp_path_factory, operations, cuts):
    made, reason = _fresh_pg_database()
    if made is None:
        pytest.skip(reason)
    admin, name = made
    work = tmp_path_factory.mktemp("copy")
    kiosk = Ledger.create(work / "k1.db", kiosk_id="k1", store_id="s1", rules_text=FULL, at="2026-01-01T08:00",
                          pii_key=pii.load_or_make(os.environ["KIOSK_HQ_KEY"]))
    kiosk.register(name="A", phone="13800000001", card_id="A", operator="admin", at="2026-11-01T09:00")
    kiosk.register(name="B", phone="13800000002", card_id="B", referrer_card="A", operator="admin",
                   at="2026-11-01T09:00")
    counter_work(kiosk, operations)
    records = kiosk.journal()
    pg, lite = hub(PG_ADMIN.rsplit("/", 1)[0] + "/" + name), hub(f"sqlite:///{work / 'hq.db'}")
    try:
        start, n = 0, 0
        while start < len(records):
            size = cuts[n % len(cuts)]
            out = send(pg, kiosk, records[start:start + size])
            assert out.corrections == [] and out.alerts == []
            start, n = start + size, n + 1
        assert send(lite, kiosk, records).corrections == []
        assert projections(pg) == projections(lite)
    finally:
        pg.db.close(), lite.db.close()
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def test_a_million_for_another_stores_member_inside_a_batch_is_rejected(tmp_path, pg_url):
    """The attack the copy must not open: a kiosk's batch (honest records and one forged) credits a member
    of another store. The copy holds that member too (the record names them); the record is rejected, the
    honest ones applied, the other member's balance untouched."""
    key = pii.load_or_make(os.environ["KIOSK_HQ_KEY"])
    here, there = (Ledger.create(tmp_path / f"{k}.db", kiosk_id=k, store_id=s, rules_text=FULL,
                                 at="2026-01-01T08:00", pii_key=key) for k, s in (("k1", "s1"), ("k9", "s2")))
    victim = there.register(name="Z", phone="13800000009", card_id="Z", operator="admin", at="2026-11-01T09:00")
    here.register(name="A", phone="13800000001", card_id="A", operator="admin", at="2026-11-01T09:00")
    here.topup("A", 10_000, operator="admin", at="2026-11-02T10:00")
    here.checkin("A", at="2026-11-02T11:00")
    here.purchase("A", lines_from_amount(3_000), operator="admin", at="2026-11-02T12:00")
    records = here.journal()
    forged = next(i for i, r in enumerate(records) if r["kind"] == "checkin")
    records[forged]["effects"].append({"op": "sv", "member_id": victim["member_id"], "principal": 100_000_000,
                                       "bonus": 0})
    for i in range(forged, len(records)):
        records[i].pop("hash")
        seal(records[i], records[i - 1]["hash"])
    hq = hub(pg_url)
    send(hq, there, there.journal(), source="k9", store="s2")
    out = send(hq, here, records)
    assert [(c["seq"], c["kind"]) for c in out.corrections] == [(records[forged]["seq"], "rejected")]
    assert out.applied == len(records) - 1
    assert hq.conn.execute("SELECT principal_fen FROM members WHERE member_id = ?",
                           (victim["member_id"],)).fetchone()[0] == 0
    hq.db.close()
