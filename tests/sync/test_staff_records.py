"""Head office receives staff actions like any record: journaled in the chain, nothing applied."""
from __future__ import annotations

import pytest

from kiosk.ledger import REFERENCE_RULES, Refused
from kiosk.ledger.staff import AUDITED, MAX_FAILURES
from sync.hq.db import Db
from sync.hq.ingest import Ingest
from sync.protocol.envelope import check


def test_sign_ins_failures_lockouts_and_rules_replaced_reach_head_office_without_effects(tmp_path, make_kiosk):
    k = make_kiosk("k1")
    k.add_staff("c1", "Cai", "cashier", "4711")
    k.add_staff("m1", "Ma", "manager", "2468")
    k.sign_in("m1", "2468")
    for _ in range(MAX_FAILURES):
        with pytest.raises(Refused):
            k.sign_in("c1", "0000")
    k.unlock_staff("c1", operator="m1")
    k.reset_pin("c1", "1357", operator="m1")
    k.init(REFERENCE_RULES.read_text().replace('name = "Gold"', 'name = "Golden"', 1), operator="m1")
    records = k.journal()
    assert {r["kind"] for r in records} == {*AUDITED, "stock"} - {"erase"}      # stock: seeded by init
    assert all(r["effects"] == [] for r in records if r["kind"] in AUDITED)
    check("tx.batch", {"store_id": "s1", "source_id": "k1", "records": records})

    ingest = Ingest(Db(f"sqlite:///{tmp_path / 'hq.db'}"))
    out = ingest.batch("s1", "k1", "kiosk", records)
    assert (out.applied, out.corrections, out.alerts, out.hwm) == (len(records), [], [], len(records))
    journaled = [kind for (kind,) in ingest.conn.execute("SELECT kind FROM journal WHERE kiosk_id = 'k1' ORDER BY seq")]
    assert journaled == [r["kind"] for r in records]
    assert ingest.conn.execute("SELECT COUNT(*) FROM staff").fetchone() == (0,)   # a record changes no staff list
