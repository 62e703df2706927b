"""Migration import: every row validated, all or nothing, GB18030, idempotent, journaled and fed out."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from kiosk.ledger import pii
from sync.hq.authority import Authority
from sync.hq.importer import Importer, ImportRefused
from sync.hq.ops_cli import REFUSED
from sync.hq.cli import main
from sync.hq.reports.liability import liability

NOW = datetime(2026, 3, 31, 2, 0, tzinfo=timezone.utc)
MEMBERS = """card_id,phone,name,store_id,birthday,tier,legacy_id
OLD-001,13800138000,张三,s1,1985/03/09,silver,L1
OLD-002,+86 139 0013 9000,李四,s2,,,L2
OLD-003,13700137000,王五,s1,1990-12-01,normal,L3
"""
BALANCES = """card_id,points,principal,bonus,points_expire_on
OLD-001,1200,300.00,30.00,2026-12-31
OLD-002,0,88.80,0,
"""
HISTORY = """legacy_tx_id,card_id,at,amount,store_id
T1,OLD-001,2025-11-02 12:30,128.50,s1
T2,OLD-002,2025-12-24 19:05,66.00,s2
"""


def run(db, kind, text, **kw):
    return Importer(db, NOW).run(kind, text.encode(kw.pop("encoding", "utf-8")), **kw)


def test_members_balances_and_history_import_once_and_reach_the_feed(hub_db):
    out = run(hub_db, "members", MEMBERS, encoding="gb18030")
    assert (out.encoding, len(out.imported), out.refused) == ("gb18030", 3, [])
    rows = hub_db.conn.execute("SELECT member_id, phone, name, tier FROM members").fetchall()
    assert not any("张三" in str(row) or "13800138000" in str(row) for row in rows)      # stored encrypted
    plain = [pii.reveal_row(hub_db.conn, hub_db.keyring, m, {"phone": p, "name": n}) for m, p, n, _t in rows]
    names = {r["phone"]: r["name"] for r in plain}
    assert names == {"+8613800138000": "张三", "+8613900139000": "李四", "+8613700137000": "王五"}
    tiers = {r["phone"]: t for r, (*_, t) in zip(plain, rows)}
    assert tiers["+8613800138000"] == "silver" and tiers["+8613900139000"] == "registered"
    assert len(run(hub_db, "balances", BALANCES).imported) == 2
    assert len(run(hub_db, "transactions", HISTORY).imported) == 2
    before = hub_db.conn.execute("SELECT COUNT(*) FROM journal").fetchone()
    again = [run(hub_db, kind, text) for kind, text in (("members", MEMBERS), ("balances", BALANCES),
                                                        ("transactions", HISTORY))]
    assert [(len(o.imported), o.already) for o in again] == [(0, 3), (0, 2), (0, 2)]
    assert hub_db.conn.execute("SELECT COUNT(*) FROM journal").fetchone() == before
    owed = liability(hub_db.conn, NOW.date())
    assert owed["stores"]["s1"]["points"] == 1200 and owed["stores"]["s1"]["principal_fen"] == 30000
    assert owed["stores"]["s2"]["principal_fen"] == 8880
    # the imported transactions are in the feed a kiosk catches up from: its own store's members only
    pages = {s: Authority(hub_db).feed({"after": 0, "limit": 100, "source_id": "k1", "store_id": s})[1]["records"]
             for s in ("s1", "s2")}
    kinds = [r["kind"] for s in pages for r in pages[s]]
    assert kinds.count("import_member") == 3 and kinds.count("import_balance") == 2
    assert {r["store_id"] for r in pages["s1"]} == {"s1"} and {r["store_id"] for r in pages["s2"]} == {"s2"}
    history = hub_db.conn.execute("SELECT at FROM journal WHERE kind = 'import_purchase' ORDER BY at").fetchall()
    assert history[0] == ("2025-11-02T04:30:00.000000Z",)


@pytest.mark.parametrize("line, reason", [
    ("OLD-009,12345,Bad Phone,s1,,,", "not a valid phone number"),
    ("OLD-009,13800138000,Same Phone,s1,,,", "also on line 2"),
    ("OLD-001,13600136000,Same Card,s1,,,", "also on line 2"),
    ("OLD-009,13600136000,Tier,s1,,platinum,", "tier 'platinum'"),
    ("OLD-009,13600136000,Date,s1,1990-02-30,,", "birthday '1990-02-30'"),
    ("OLD-009,13600136000,Store,s/1,,,", "store_id"),
])
def test_a_bad_member_row_refuses_the_whole_file_unless_skipped(hub_db, line, reason):
    text = MEMBERS.splitlines()[0] + "\n" + MEMBERS.splitlines()[1] + "\n" + line + "\n"
    out = run(hub_db, "members", text)
    assert out.written is False and [r["line"] for r in out.refused] == [3]
    assert reason in out.refused[0]["reason"]
    assert hub_db.conn.execute("SELECT COUNT(*) FROM members").fetchone() == (0,)
    skipped = run(hub_db, "members", text, skip_invalid=True)
    assert len(skipped.imported) == 1 and len(skipped.refused) == 1


def test_bad_balances_and_files(hub_db):
    run(hub_db, "members", MEMBERS)
    out = run(hub_db, "balances", "card_id,points,principal\nOLD-001,-5,0\nOLD-404,1,0\nOLD-002,10,-1.00\n"
                                  "OLD-003,10,1.234\n")
    assert [r["line"] for r in out.refused] == [2, 3, 4, 5]
    assert "negative" in out.refused[0]["reason"] and "not known" in out.refused[1]["reason"]
    with pytest.raises(ImportRefused, match="lacks points"):
        run(hub_db, "balances", "card_id,principal\nOLD-001,1\n")
    with pytest.raises(ImportRefused, match="unknown column"):
        run(hub_db, "balances", "card_id,points,colour\nOLD-001,1,red\n")
    with pytest.raises(ImportRefused, match="not utf-8"):
        Importer(hub_db, NOW).run("members", "张三".encode("gb18030"), encoding="utf-8")


def test_cli_prints_what_was_refused_and_exits_non_zero(hub_db, tmp_path, capsys):
    path = tmp_path / "members.csv"
    path.write_bytes((MEMBERS + "OLD-009,12345,Bad,s1,,,\n").encode("gb18030"))
    args = ["import", "members", str(path), "--db", hub_db.url, "--now", "2026-03-31T10:00+08:00"]
    assert main(args + ["--json"]) == REFUSED
    out = json.loads(capsys.readouterr().out)
    assert out["written"] is False and out["refused"][0]["line"] == 5 and out["encoding"] == "gb18030"
    assert main(args + ["--skip-invalid"]) == 0
    text = capsys.readouterr().out
    assert "imported 3" in text and "line 5" in text


def test_opening_balances_above_the_stored_value_cap_are_refused(hub_db):
    from sync.hq.retained import Retained

    from .conftest import RULES
    Retained(hub_db).set_rules(RULES.replace("undo_window_minutes = 30", 'undo_window_minutes = 30\ncap = "200.00"'))
    run(hub_db, "members", MEMBERS)
    out = run(hub_db, "balances", BALANCES)
    assert [r["line"] for r in out.refused] == [2] and "above the stored-value cap" in out.refused[0]["reason"]
