"""A record re-derived to its very effects is applied from the replay (rederive.py, ``Verdict.applied``):
the ledger must end exactly where applying the records would leave it, a member's records in one batch
build on each other, and a rejected record in the middle of a batch leaves no trace."""
from __future__ import annotations

import copy

import pytest

from kiosk.ledger import Ledger, lines_from_amount
from kiosk.ledger.journal import seal
from sync.hq.db import Db
from sync.hq.ingest import Ingest
from sync.hq.retained import Retained

from .test_rederive import DAY, FULL, every_kind, hub, kiosk, send  # noqa: F401  (kiosk: a fixture)

BOOKKEEPING = ("meta", "outbox", "journal", "journal_others")     # compared by tx_id, or not a projection


def plain_hub(url: str) -> Ingest:
    """A hub that applies records as they come, without re-deriving them (what the effects alone give)."""
    db = Db(url)
    Retained(db).set_rules(FULL)
    return Ingest(db, rederive=False)


def projections(hq: Ingest) -> dict[str, list]:
    """Every ledger table's rows (head office's own bookkeeping left out), as text: the same on SQLite
    and PostgreSQL."""
    listing = "SELECT name FROM sqlite_master WHERE type = 'table'" if hq.db.dialect == "sqlite" else \
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    tables = [t for (t,) in hq.conn.execute(listing) if not t.startswith(("hq_", "sqlite_"))]
    return {t: sorted(repr(tuple(map(str, row))) for row in hq.conn.execute(f"SELECT * FROM {t}").fetchall())
            for t in tables if t not in BOOKKEEPING}


def journaled(hq: Ingest) -> list[str]:
    return [t for (t,) in hq.conn.execute("SELECT tx_id FROM journal ORDER BY at, tx_id")]


def resealed(records: list[dict], start: int) -> list[dict]:
    """The chain from ``start`` on, numbered and sealed again after whatever now precedes it."""
    out = copy.deepcopy(records)
    for i in range(start, len(out)):
        out[i]["seq"] = out[i - 1]["seq"] + 1
        seal(out[i], out[i - 1]["hash"])
    return out


def test_records_re_derived_to_their_effects_leave_the_ledger_as_applying_them_does(kiosk: Ledger, tmp_path):
    every_kind(kiosk)
    records = kiosk.journal()
    checked, plain = hub(f"sqlite:///{tmp_path / 'checked.db'}"), plain_hub(f"sqlite:///{tmp_path / 'plain.db'}")
    out = send(checked, kiosk, records)
    assert out.applied == len(records) and out.corrections == [] and out.alerts == []
    assert send(plain, kiosk, records).applied == len(records)
    assert projections(checked) == projections(plain)
    assert journaled(checked) == journaled(plain)
    checked.db.close(), plain.db.close()


def test_on_postgresql_with_a_batchs_rows_sent_together_the_ledger_is_the_same(kiosk: Ledger, tmp_path, pg_url):
    """PostgreSQL gets a batch's rows of the append-only tables in one INSERT a table (ingest.HELD_TABLES):
    the ledger ends exactly as the plain SQLite hub's."""
    every_kind(kiosk)
    records = kiosk.journal()
    checked, plain = hub(pg_url), plain_hub(f"sqlite:///{tmp_path / 'plain.db'}")
    for i in range(0, len(records), 3):     # small batches: one that needs savepoints leaves the others held
        out = send(checked, kiosk, records[i:i + 3])
        assert out.corrections == [] and out.alerts == []
    assert send(plain, kiosk, records).applied == len(records)
    assert projections(checked) == projections(plain)
    checked.db.close(), plain.db.close()


def test_a_members_records_in_one_batch_build_on_each_other(kiosk: Ledger, tmp_path):
    """Top-up, a purchase paid from it, a refund of that purchase, a purchase paid with the refund: one
    batch, each re-derived over what the ones before it left."""
    kiosk.topup("A", 10_000, operator="admin", at="2026-11-02T10:00")
    bought = kiosk.purchase("A", lines_from_amount(8_000), pay="stored-value", operator="admin",
                            at="2026-11-02T11:00")
    kiosk.refund(bought["tx_id"], 5_000, operator="admin", at="2026-11-02T12:00")
    kiosk.purchase("A", lines_from_amount(6_000), pay="stored-value", operator="admin", at="2026-11-02T13:00")
    hq = hub(f"sqlite:///{tmp_path / 'hq.db'}")
    records = kiosk.journal()
    out = send(hq, kiosk, records)
    assert out.applied == len(records) and out.corrections == [] and out.alerts == []
    member = kiosk.member_for_card("A")
    (principal, bonus, debt), = hq.conn.execute(
        "SELECT principal_fen, bonus_fen, points_debt FROM members WHERE member_id = ?", (member["member_id"],))
    assert (principal, bonus, debt) == (member["principal_fen"], member["bonus_fen"], member["points_debt"])
    assert principal + bonus < 10_000 - 8_000 + 5_000      # the second purchase was paid from what the refund gave
    hq.db.close()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_a_rejected_record_in_the_middle_of_a_batch_leaves_no_trace(kiosk: Ledger, tmp_path, dialect, request):
    """On PostgreSQL the batch's first run goes through the copy of its members (batchcopy.py), the
    second a record at a time: the forged record is refused alone either way."""
    kiosk.topup("A", 100_000, operator="admin", at="2026-11-02T10:00")
    kiosk.topup("B", 50_000, operator="admin", at="2026-11-02T10:00")
    bought = kiosk.purchase("B", lines_from_amount(12_345), pay="stored-value", operator="admin",
                            at="2026-11-03T10:00")
    kiosk.checkin("A", at=DAY)
    kiosk.purchase("A", lines_from_amount(30_000), pay="stored-value", operator="admin", at=DAY)
    kiosk.refund(bought["tx_id"], 5_000, operator="admin", at=DAY)
    records = kiosk.journal()
    middle = next(i for i, r in enumerate(records) if r["kind"] == "checkin")
    forged = copy.deepcopy(records)
    next(e for e in forged[middle]["effects"] if e["op"] == "lot.add")["points"] += 1
    forged = resealed(forged, middle)
    hq = hub(request.getfixturevalue("pg_url") if dialect == "postgresql" else f"sqlite:///{tmp_path / 'hq.db'}")
    out = send(hq, kiosk, forged)
    assert out.again
    assert [(c["tx_id"], c["kind"]) for c in out.corrections] == [(forged[middle]["tx_id"], "rejected")]
    assert out.applied == len(records) - 1 and out.hwm == forged[-1]["seq"]
    without = resealed(records[:middle] + records[middle + 1:], middle)      # the batch as if it never came
    plain = plain_hub(f"sqlite:///{tmp_path / 'plain.db'}")
    assert send(plain, kiosk, without).applied == len(without)
    assert projections(hq) == projections(plain)
    assert journaled(hq) == journaled(plain)
    hq.db.close(), plain.db.close()


def test_a_record_whose_replay_differs_only_in_lot_ids_is_applied_as_the_kiosk_made_it(kiosk: Ledger, tmp_path):
    """Economics leave lot ids out (a kiosk and head office may draw different lots), so such a record is
    explained, and what is applied is the record, not head office's replay of it."""
    kiosk.checkin("A", at=DAY)
    records = kiosk.journal()
    changed = copy.deepcopy(records)
    next(e for e in changed[-1]["effects"] if e["op"] == "lot.add")["lot_id"] = "a lot of the kiosk's naming"
    changed = resealed(changed, len(changed) - 1)
    hq, plain = hub(f"sqlite:///{tmp_path / 'hq.db'}"), plain_hub(f"sqlite:///{tmp_path / 'plain.db'}")
    assert send(hq, kiosk, changed).corrections == []
    send(plain, kiosk, changed)
    assert hq.conn.execute("SELECT 1 FROM lots WHERE lot_id = 'a lot of the kiosk''s naming'").fetchone()
    assert projections(hq) == projections(plain)
    hq.db.close(), plain.db.close()
