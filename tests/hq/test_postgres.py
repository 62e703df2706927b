"""The same head-office functions on PostgreSQL (what a chain runs): reports, liability, churn,
monitoring with a hold, reminders, import, restock. Skipped with the reason when unreachable."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sync.hq.churn import at_risk, score, win_back
from sync.hq.db import Db
from sync.hq.generate import ChainSpec, copy_to_postgres, generate
from sync.hq.importer import Importer
from sync.hq.monitor import Monitor, list_alerts, load_monitor_rules, release
from sync.hq.notify import outbox
from sync.hq.reminders import remind
from sync.hq.reports.activity import activity
from sync.hq.reports.liability import liability
from sync.hq.reports.period import parse_period
from sync.hq.staffops import restock

NOW = datetime(2026, 3, 30, 2, 0, tzinfo=timezone.utc)


def test_head_office_operations_on_postgresql(tmp_path, pg_url):
    lite = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    generate(lite, ChainSpec(members=200, days=60, start=date(2026, 1, 1), seed=11))
    copy_to_postgres(lite, pg_url).close()
    pg = Db(pg_url)                         # opened again, as every later command does: nothing to migrate
    try:
        for db in (lite, pg):
            assert db.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] > 500
        assert liability(pg.conn, date(2026, 2, 28)) == liability(lite.conn, date(2026, 2, 28))
        assert activity(pg.conn, parse_period("2026-02")) == activity(lite.conn, parse_period("2026-02"))
        assert score(pg.conn, NOW) == score(lite.conn, NOW)
        risky = at_risk(pg.conn, NOW)[:3]
        assert len(win_back(pg, risky, coupon="V20", campaign="pg", now=NOW)["issued"]) == 3
        rules = load_monitor_rules('[monitor]\namount_above = "1000.00"\nhold = ["amount"]')
        alerts = Monitor(pg, rules).scan(NOW)
        assert alerts and all(a["rule"] == "amount" for a in alerts)
        held = next(a for a in alerts if a["hold"])
        assert release(pg, held["alert_id"], by="m1", now=NOW)["released"]
        listed = list_alerts(pg.conn)
        assert len(listed) == len(alerts) and list_alerts(pg.conn, kind="overdraft") == []
        assert [a["holding"] for a in listed if a["alert_id"] == held["alert_id"]] == [False]
        remind(pg, NOW)
        assert len(outbox(pg.conn, state="pending")) >= 3 and outbox(pg.conn, state="failed") == []
        out = Importer(pg, NOW).run("members", "card_id,phone,name,store_id\nPG-1,13800138000,张三,s1\n".encode())
        assert len(out.imported) == 1 and Importer(pg, NOW).run(
            "members", "card_id,phone,name,store_id\nPG-1,13800138000,张三,s1\n".encode()).already == 1
        assert restock(pg, "s1", "GIFT-MUG", 3, operator="hq", now=NOW)["stock"] == 13
    finally:
        pg.close()
        lite.close()
