"""The chain generator: consistent with the ledger's own rules of the journal, with the patterns asked."""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from kiosk.ledger import pii
from kiosk.ledger.verify import verify
from sync.hq.db import Db
from sync.hq.generate import ChainSpec, copy_to_postgres, generate
from sync.hq.reports.period import parse_period
from sync.hq.reports.summary import summary

SMALL = ChainSpec(members=400, days=90, start=date(2026, 1, 1), seed=7)


@pytest.fixture(scope="module")
def small_chain(tmp_path_factory):
    db = Db(f"sqlite:///{tmp_path_factory.mktemp('gen') / 'hq.db'}")
    counts = generate(db, SMALL)
    yield db, counts
    db.close()


def test_generated_projections_equal_a_replay_of_the_journal(small_chain):
    db, counts = small_chain
    assert counts["transactions"] > 1000 and len(counts["stores"]) == 3
    assert verify(db.conn) == []
    kinds = dict(db.conn.execute("SELECT kind, COUNT(*) FROM journal GROUP BY kind").fetchall())
    assert kinds["register"] == 400 and kinds["purchase"] > 10 * kinds["refund"] > 0 and kinds["topup"] > 0
    tiers = dict(db.conn.execute("SELECT tier, COUNT(*) FROM members GROUP BY tier").fetchall())
    assert len(tiers) >= 2


def test_generated_members_personal_data_is_sealed_and_readable_with_the_chain_key(small_chain):
    db, _ = small_chain
    with open(db.path, "rb") as raw:
        assert b"13900000001" not in raw.read()            # member 1's phone: not in plain text anywhere
    member_id, _card = pii.holder_by_phone(db.conn, db.keyring, "+8613900000001")     # found by its keyed hash
    row = db.conn.execute("SELECT name, phone FROM members WHERE member_id = ?", (member_id,)).fetchone()
    assert "会员" not in row[0]
    assert pii.reveal_row(db.conn, db.keyring, member_id, {"name": row[0], "phone": row[1]}) == {
        "name": "会员1", "phone": "+8613900000001"}


def test_generated_purchases_follow_weekday_and_hour_patterns(small_chain):
    db, _ = small_chain
    zone = ZoneInfo("Asia/Shanghai")
    moments = [datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(zone)
               for (at,) in db.conn.execute("SELECT at FROM journal WHERE kind = 'purchase'")]
    hours, weekdays = Counter(m.hour for m in moments), Counter(m.isoweekday() for m in moments)
    assert set(hours) <= set(range(8, 23))                  # store hours only
    assert hours[12] + hours[19] > 2 * (hours[9] + hours[15])  # lunch and evening peaks
    assert weekdays[6] > weekdays[1]                         # Saturday busier than Monday
    month = summary(db.conn, parse_period("2026-02"))
    assert month["chain"]["purchases"] == sum(1 for m in moments if m.month == 2)


def test_generated_chain_copies_to_postgres_with_the_same_reports(small_chain, pg_url):
    db, _ = small_chain
    pg = copy_to_postgres(db, pg_url)
    try:
        assert summary(pg.conn, parse_period("2026-02")) == summary(db.conn, parse_period("2026-02"))
        assert pg.conn.execute("SELECT COUNT(*) FROM journal").fetchone() == \
            db.conn.execute("SELECT COUNT(*) FROM journal").fetchone()
    finally:
        pg.close()


def test_generate_command_fills_only_an_empty_database(tmp_path, capsys):
    from sync.hq.cli import main
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    assert main(["generate", "--db", url, "--members", "50", "--days", "20", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["members"] == 50
    assert main(["generate", "--db", url, "--members", "50", "--days", "20", "--json"]) == 3
    assert json.loads(capsys.readouterr().out)["code"] == "not_empty"
