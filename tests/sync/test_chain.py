"""Head office checks each source's hash chain: a break holds the source and raises an alert, a
record reusing a journaled tx_id never advances the mark nor swallows the kiosk's real record, and
a released source carries on with its genuine records."""
import copy
import json
import subprocess
import sys

import pytest

from kiosk.ledger import Ledger, lines_from_amount
from kiosk.ledger.journal import link_hash, seal
from sync.hq.db import Db
from sync.hq.ingest import Ingest


@pytest.fixture
def kiosk_records(tmp_path):
    """Five genuine sealed records of kiosk k1."""
    led = Ledger.create(tmp_path / "k1.db", kiosk_id="k1", store_id="s1")
    led.register(name="Qin Hai", phone="13800002222", card_id="C1", operator="admin")
    for amount in (1000, 2000, 3000):
        led.purchase("C1", lines_from_amount(amount), operator="admin")
    records = [json.loads(r) for (r,) in led.conn.execute("SELECT record FROM journal ORDER BY seq")]
    led.close()
    return records


@pytest.fixture
def hq(tmp_path):
    db = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    yield db, Ingest(db)
    db.close()


def source(db):
    return db.conn.execute("SELECT hwm, held FROM hq_sources WHERE source_id = 'k1'").fetchone()


def alerts(db):
    return [json.loads(d) for (d,) in db.conn.execute("SELECT detail FROM hq_alerts WHERE kind = 'chain_break'")]


def test_genuine_records_chain_and_head_office_keeps_the_tip(hq, kiosk_records):
    db, ingest = hq
    out = ingest.batch("s1", "k1", "kiosk", kiosk_records)
    assert (out.hwm, out.applied) == (len(kiosk_records), len(kiosk_records))
    assert db.conn.execute("SELECT tip, sealed, held FROM hq_sources").fetchone() == \
        (kiosk_records[-1]["hash"], 1, None)


def test_an_edited_record_holds_the_source_until_released(tmp_path, hq, kiosk_records):
    db, ingest = hq
    ingest.batch("s1", "k1", "kiosk", kiosk_records[:3])
    forged = copy.deepcopy(kiosk_records[3])
    forged["effects"][-1]["points"] = 1_000_000                 # effects changed, seal kept
    out = ingest.batch("s1", "k1", "kiosk", [forged, kiosk_records[4]])
    assert out.applied == 0 and source(db) == (3, "seq 4: hash does not match the record's contents")
    assert alerts(db) == [{"seq": 4, "problem": "hash does not match the record's contents"}]
    assert ingest.batch("s1", "k1", "kiosk", kiosk_records[3:]).applied == 0      # held: nothing applied
    proc = subprocess.run([sys.executable, "-m", "sync.hq.cli", "release", "--db", f"sqlite:///{tmp_path / 'hq.db'}",
                           "k1"], capture_output=True, text=True)
    assert proc.returncode == 0 and "hash does not match" in proc.stdout
    out = ingest.batch("s1", "k1", "kiosk", kiosk_records[3:])                      # the genuine ones
    assert (out.applied, source(db)) == (2, (5, None))


def test_a_resealed_forgery_does_not_follow_the_tip(hq, kiosk_records):
    db, ingest = hq
    ingest.batch("s1", "k1", "kiosk", kiosk_records[:3])
    forged = copy.deepcopy(kiosk_records[3])
    forged["effects"][-1]["points"] = 1_000_000
    seal(forged, "0" * 64)                                     # a fresh seal on a made-up chain
    assert ingest.batch("s1", "k1", "kiosk", [forged]).applied == 0
    assert source(db)[1].startswith("seq 4: prev 000000000000")


def test_a_reused_tx_id_neither_advances_the_mark_nor_swallows_the_real_record(hq, kiosk_records):
    db, ingest = hq
    ingest.batch("s1", "k1", "kiosk", kiosk_records[:3])
    reuse = copy.deepcopy(kiosk_records[3])
    reuse["tx_id"] = kiosk_records[0]["tx_id"]                  # an existing UUID at the next seq
    reuse["hash"] = link_hash(reuse["prev"], reuse)
    assert ingest.batch("s1", "k1", "kiosk", [reuse]).hwm == 3
    assert "already journaled as k1 seq 1" in source(db)[1]
    db.conn.execute("UPDATE hq_sources SET held = NULL")       # a technician released it
    ingest.batch("s1", "k1", "kiosk", kiosk_records[3:])
    journaled = {t for (t,) in db.conn.execute("SELECT tx_id FROM journal WHERE kiosk_id = 'k1'")}
    assert {r["tx_id"] for r in kiosk_records} == journaled     # the real seq-4 record is there


def test_an_unsealed_record_after_sealed_ones_is_a_break(hq, kiosk_records):
    db, ingest = hq
    ingest.batch("s1", "k1", "kiosk", kiosk_records[:3])
    downgrade = {k: v for k, v in kiosk_records[3].items() if k not in ("prev", "hash")}
    downgrade["v"] = 1
    assert ingest.batch("s1", "k1", "kiosk", [downgrade]).applied == 0
    assert source(db)[1] == "seq 4: an unsealed record after sealed ones"
