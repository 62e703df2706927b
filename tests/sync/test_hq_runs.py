"""Head office's dated benefit runs (birthday coupons, top-up bonus instalments): computed by the
kiosk's own code, journaled once, fed back to the kiosk, and a part paid twice is reported."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.ledger import Ledger, lines_from_amount, pii, verify
from sync.hq.db import Db
from sync.hq.ingest import Ingest
from sync.hq.retained import Retained
from sync.hq.runs import birthday_run, instalment_run

FULL = (Path(__file__).parents[2] / "examples" / "rules-full.toml").read_text()


@pytest.fixture(params=["sqlite", "postgresql"])
def hq_url(request, tmp_path):
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{tmp_path / 'hq.db'}"


@pytest.fixture
def kiosk(tmp_path, chain_key_file):
    led = Ledger.create(tmp_path / "k1.db", kiosk_id="k1", store_id="s1", rules_text=FULL, at="2026-01-01T08:00",
                        pii_key=pii.load_or_make(chain_key_file))
    led.register(name="A", phone="13800000001", card_id="A", birthday="1990-05-17", operator="admin",
                 at="2026-11-01T09:00")
    led.purchase("A", lines_from_amount(100_000), operator="admin", at="2026-11-02T10:00")   # normal tier
    led.topup("A", 100_000, operator="admin", at="2026-11-20T10:00")                          # 3 parts
    yield led
    led.close()


def send(ingest, kiosk):
    """The kiosk's journal to head office as its agent sends it (with the members' data keys)."""
    records = kiosk.journal()
    return ingest.batch("s1", "k1", "kiosk", records, pii.keys_for(kiosk.conn, records))


def hq_records(db) -> list[dict]:
    return [json.loads(r) for (r,) in db.conn.execute("SELECT record FROM journal WHERE kiosk_id = 'hq' ORDER BY seq")]


def test_runs_pay_once_and_the_kiosk_agrees(kiosk, hq_url):
    db = Db(hq_url)
    Retained(db).set_rules(FULL)
    ingest = Ingest(db)
    send(ingest, kiosk)
    paid = instalment_run(ingest, at="2026-12-01T06:00", store_id="hq")
    assert [(p["part"], p["bonus_fen"], p["points"]) for p in paid] == [(2, 5000, 100)]
    assert instalment_run(ingest, at="2026-12-15T06:00", store_id="hq") == []
    given = birthday_run(ingest, at="2027-04-30T17:00:00Z", store_id="hq")   # 1 May in Shanghai
    assert [g["coupon"] for g in given] == ["BDAY-20"]
    assert birthday_run(ingest, at="2027-05-20T06:00", store_id="hq") == []
    records = hq_records(db)
    db.close()

    for record in records:                       # what the feed carries to the kiosk
        assert kiosk.ingest(record) == (True, [])
    assert verify(kiosk.conn) == []
    visit = kiosk.visit("A", at="2027-05-02T10:00")
    assert visit["birthday_coupon"] == "" and [p["part"] for p in visit["instalments"]] == [3]
    view = kiosk.member_view("A", at="2027-05-02T11:00")
    assert (view["principal_fen"], view["bonus_fen"]) == (100_000, 15_000)
    assert [c["code"] for c in view["coupons"]] == ["BDAY-20"]


def test_a_part_paid_at_the_kiosk_and_by_the_run_is_reported(kiosk, tmp_path):
    db = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    Retained(db).set_rules(FULL)
    ingest = Ingest(db)
    send(ingest, kiosk)
    kiosk.visit("A", at="2026-12-01T09:00")        # offline: head office has not heard of it yet
    assert len(instalment_run(ingest, at="2026-12-01T10:00", store_id="hq")) == 1
    out = send(ingest, kiosk)
    assert [(c["kind"], c["detail"]["shortfalls"][0]["what"]) for c in out.corrections] == [
        ("overdraft", "instalment")]
    assert [a["kind"] for a in out.alerts] == ["overdraft"]
    db.close()


def test_kiosk_hq_birthday_run_command(kiosk, tmp_path):
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    db = Db(url)
    Retained(db).set_rules(FULL)
    send(Ingest(db), kiosk)
    db.close()
    run = subprocess.run([sys.executable, "-m", "sync.hq", "birthday-run", "--db", url, "--at", "2027-05-03T08:00"],
                         capture_output=True, text=True, check=True)
    assert [g["coupon"] for g in json.loads(run.stdout)] == ["BDAY-20"]


def test_the_record_schema_admits_every_effect_the_ledger_applies(kiosk):
    """Records with the new effects must not be dropped as poison on their way to head office."""
    from kiosk.ledger.apply import HANDLERS
    from sync.protocol.envelope import check, schema

    ops = schema("record")["properties"]["effects"]["items"]["properties"]["op"]["enum"]
    assert set(HANDLERS) <= set(ops)
    kiosk.register(name="B", phone="13800000002", card_id="B", operator="admin", at="2026-11-20T09:00")
    kiosk.visit("A", at="2026-12-01T09:00")
    kiosk.convert_points("A", 100, at="2026-12-01T09:05")
    kiosk.transfer_points("A", "B", 100, at="2026-12-01T09:06")
    for record in kiosk.journal():
        check("record", record)
