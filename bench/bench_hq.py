"""Head-office benchmark: the daily report over a year-long journal of about 1,000,000 transactions,
churn scoring of 1,000,000 members, both on SQLite and PostgreSQL, and migration import rows/s.
Prints one JSON line; each figure comes with a limit measured in the same run:

- daily report: against reading and decoding the same day's journal rows alone (the report's floor).
- churn: against the bare GROUP BY query that fetches every member's visits (scoring adds their value
  and RFM ranks).
- import: against inserting the same number of rows with one executemany in one transaction.

PostgreSQL is skipped (with the reason in the output) when it is not reachable.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync.hq.churn import score  # noqa: E402
from sync.hq.db import Db  # noqa: E402
from sync.hq.generate import ChainSpec, copy_to_postgres, generate  # noqa: E402
from sync.hq.importer import Importer  # noqa: E402
from sync.hq.reports.period import parse_period, records_between  # noqa: E402
from sync.hq.reports.summary import summary  # noqa: E402

START = date(2025, 1, 1)


def best(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def busiest_day(db: Db) -> str:
    day = START + timedelta(days=200)
    while day.isoweekday() != 6:                 # a Saturday in the middle of the year
        day += timedelta(days=1)
    return day.isoformat()


def daily(db: Db, day: str) -> dict:
    period = parse_period(day)
    report_s = best(lambda: summary(db.conn, period))
    floor_s = best(lambda: list(records_between(db.conn, period.start, period.end)))
    month_s = best(lambda: summary(db.conn, parse_period(day[:7])), 1)
    (rows,) = db.conn.execute("SELECT COUNT(*) FROM journal").fetchone()
    return {"journal_rows": rows, "day": day, "day_transactions": summary(db.conn, period)["chain"]["purchases"],
            "daily_report_ms": round(report_s * 1000, 1), "read_day_ms": round(floor_s * 1000, 1),
            "ratio": round(floor_s / report_s, 2), "monthly_report_s": round(month_s, 2)}


def fill_members(db: Db, members: int, seed: int = 1) -> int:
    """Members with their purchases only (what churn reads), bulk-inserted: a million members through
    the generator would take an hour, and scoring reads nothing else."""
    rng = random.Random(seed)
    as_of = datetime(2026, 1, 1, tzinfo=timezone.utc)
    conn, seq, rows = db.conn, 0, 0
    with db.transaction():
        batch_m, batch_j, batch_p = [], [], []
        for n in range(members):
            member_id = f"M{n + 1:010d}"
            batch_m.append((member_id, "-", "-", "2024-01-01T00:00:00.000000Z", "registered",
                            "2024-01-01T00:00:00.000000Z"))
            interval = rng.uniform(5, 90)
            last = as_of - timedelta(days=rng.expovariate(1 / 60))
            for k in range(rng.randint(1, 4)):
                seq += 1
                tx_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                at = (last - timedelta(days=interval * k)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
                batch_j.append((tx_id, "bench", seq, "purchase", at, "c1", member_id, "{}"))
                batch_p.append((tx_id, member_id, rng.randint(100, 50000)))
            if len(batch_j) > 50_000 or n == members - 1:
                conn.executemany("INSERT INTO members (member_id, name, phone, joined_at, tier, tier_since)"
                                 " VALUES (?, ?, ?, ?, ?, ?)", batch_m)
                conn.executemany("INSERT INTO journal (tx_id, kiosk_id, seq, kind, at, operator, member_id, record)"
                                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", batch_j)
                conn.executemany("INSERT INTO purchases (tx_id, member_id, payable_fen, sv_principal_fen, sv_bonus_fen,"
                                 " points_earned, points_cash) VALUES (?, ?, ?, 0, 0, 0, 0)", batch_p)
                rows += len(batch_j)
                batch_m, batch_j, batch_p = [], [], []
    return rows


def churn(db: Db) -> dict:
    as_of = datetime(2026, 1, 1, tzinfo=timezone.utc)
    scored = []
    score_s = best(lambda: scored.append(len(score(db.conn, as_of))), 1)
    query_s = best(lambda: db.conn.execute(
        "SELECT member_id, COUNT(*), MIN(at), MAX(at) FROM journal WHERE kind = 'purchase' AND at < ?"
        " GROUP BY member_id", ("2026-01-01",)).fetchall(), 1)
    return {"members_scored": scored[0], "churn_s": round(score_s, 2), "bare_query_s": round(query_s, 2),
            "ratio": round(query_s / score_s, 2)}


def import_rate(workdir: Path, rows: int) -> dict:
    db = Db(f"sqlite:///{workdir / 'import.db'}")
    lines = ["card_id,phone,name,store_id,birthday,tier,legacy_id"]
    lines += [f"IMP{n:08d},139{n:08d},会员{n},s{n % 3 + 1},1980-01-{n % 28 + 1:02d},,L{n}" for n in range(rows)]
    raw = "\n".join(lines).encode("gb18030")
    t = time.perf_counter()
    out = Importer(db, datetime(2026, 1, 1, tzinfo=timezone.utc)).run("members", raw)
    import_s = time.perf_counter() - t
    assert len(out.imported) == rows, out.refused[:3]
    db.conn.execute("CREATE TABLE bare (card TEXT PRIMARY KEY, phone TEXT, name TEXT, store TEXT, birthday TEXT)")
    t = time.perf_counter()
    with db.transaction():
        db.conn.executemany("INSERT INTO bare VALUES (?, ?, ?, ?, ?)",
                            [tuple(line.split(",")[:5]) for line in lines[1:]])
    bare_s = time.perf_counter() - t
    db.close()
    return {"rows": rows, "import_rows_per_s": round(rows / import_s), "bare_insert_rows_per_s": round(rows / bare_s),
            "ratio": round(bare_s / import_s, 3)}


def pg_or_reason(url: str) -> tuple[str | None, str]:
    try:
        import psycopg
        admin = psycopg.connect(url, autocommit=True, connect_timeout=3)
    except Exception as exc:      # noqa: BLE001 - any failure is a reason to skip PostgreSQL
        return None, f"PostgreSQL not reachable at {url}: {exc}"
    name = f"bench_hq_{uuid.uuid4().hex[:8]}"
    admin.execute(f"CREATE DATABASE {name}")
    admin.close()
    return url.rsplit("/", 1)[0] + "/" + name, ""


def drop_pg(admin_url: str, url: str) -> None:
    import psycopg
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--members", type=int, default=50_000)
    p.add_argument("--visits-per-year", type=float, default=34.0, help="34 gives about 1,000,000 transactions")
    p.add_argument("--churn-members", type=int, default=1_000_000)
    p.add_argument("--import-rows", type=int, default=20_000)
    p.add_argument("--pg", default="postgresql://postgres@localhost/postgres")
    p.add_argument("--workdir", help="keep the databases here (default: a temporary folder)")
    p.add_argument("--only", choices=("churn",), help="only this figure (churn: no year to generate, no import)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        result: dict = {"bench": "hq"}
        chain = None if args.only else Db(f"sqlite:///{work / 'chain.db'}")
        if chain:
            t = time.perf_counter()
            made = generate(chain, ChainSpec(members=args.members, visits_per_year=args.visits_per_year, start=START))
            result["generate"] = {"transactions": made["transactions"], "s": round(time.perf_counter() - t, 1)}
            day = busiest_day(chain)
            result["daily_sqlite"] = daily(chain, day)
        crowd = Db(f"sqlite:///{work / 'churn.db'}")
        result["churn_rows"] = fill_members(crowd, args.churn_members)
        result["churn_sqlite"] = churn(crowd)
        pg_url, reason = pg_or_reason(args.pg)
        if pg_url:
            try:
                if chain:
                    t = time.perf_counter()
                    copy_to_postgres(chain, pg_url).close()
                    result["copy_to_postgres_s"] = round(time.perf_counter() - t, 1)
                    pg = Db(pg_url)
                    pg.conn.execute("ANALYZE")
                    result["daily_postgres"] = daily(pg, day)
                    pg.close()
                copy_to_postgres(crowd, pg_url).close()
                pg = Db(pg_url)
                pg.conn.execute("ANALYZE")
                result["churn_postgres"] = churn(pg)
                pg.close()
            finally:
                drop_pg(args.pg, pg_url)
        else:
            result["postgres_skipped"] = reason
        crowd.close()
        if chain:
            chain.close()
            result["import_sqlite"] = import_rate(work, args.import_rows)
        print(json.dumps(result))


if __name__ == "__main__":
    main()
