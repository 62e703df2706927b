"""SQL statements head office's ingest issues per record (issue 15), printed as ONE JSON line.

Each statement is a synchronous round trip to PostgreSQL, so statements per record bound ingest
throughput. A kiosk (a real ledger) makes ``--members`` registrations, then purchases, top-ups and
check-ins for them; the hub ingests the journal in batches of ``--batch`` records on SQLite and, when
reachable, on PostgreSQL, counting every statement sent (on PostgreSQL at the driver: journal rows held for
one INSERT count once), with head office's re-derivation of each
record's effects and without it (``_without_rederive``, the shape issue 15 first measured). Figures: ``fresh``
(first delivery), ``resend`` (the same batches again: duplicates), per record and per batch (as a hub: feed
rows are numbered by the hub's loop once a second, not after each batch, which cost 6 statements a batch in
this bench before 2026-12-02); with the first delivery's CPU per record:
the hub's (this process: ``time.process_time``, not wall time) and, when PostgreSQL runs on this machine,
its backend's (``/proc``). CPU figures need a few hundred members to settle (``--members 300``); the
counts do not. Run: ``make bench-ingest-statements``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kiosk.ledger import REFERENCE_RULES, Ledger, lines_from_amount, pii  # noqa: E402
from sync.hq.db import Db  # noqa: E402
from sync.hq.ingest import Ingest  # noqa: E402
from sync.hq.retained import Retained  # noqa: E402

from bench_hq import drop_pg, pg_or_reason  # noqa: E402


class Counting:
    """The connection with a count of the statements sent through it."""

    def __init__(self, conn):
        self.conn, self.count = conn, 0

    def execute(self, sql, params=()):
        self.count += 1
        return self.conn.execute(sql, params)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def journal(work: Path, members: int) -> tuple[Ledger, list[dict]]:
    kiosk = Ledger.create(work / "k1.db", kiosk_id="k1", store_id="s1", rules_text=REFERENCE_RULES.read_text(),
                          at="2026-01-01T08:00", pii_key=pii.load_or_make(os.environ["KIOSK_HQ_KEY"]))
    for i in range(members):
        card = f"C{i}"
        kiosk.register(name=f"M{i}", phone=f"138{i:08d}", card_id=card, operator="admin", at="2026-11-01T09:00")
        kiosk.topup(card, 20000, operator="admin", at="2026-11-01T09:10")
        kiosk.purchase(card, lines_from_amount(3000 + i), operator="admin", at="2026-11-01T10:00")
        kiosk.checkin(card, at="2026-11-01T11:00")
    return kiosk, kiosk.journal(limit=100000)


def measure(url: str, kiosk: Ledger, records: list[dict], size: int, rederive: bool) -> tuple[dict, dict, dict]:
    """Statements per record and per batch (fresh, resend) and the first delivery's CPU ms per record (hub,
    server)."""
    db = Db(url)
    db.sequence_on_commit = False
    Retained(db).set_rules(REFERENCE_RULES.read_text())
    ingest = Ingest(db, rederive=rederive)
    if db.dialect == "postgresql":      # what goes to the server (rows held for one INSERT are not sent alone)
        counting = db.conn.pg = Counting(db.conn.pg)
    else:
        counting = db.conn = ingest.conn = Counting(db.conn)
        if ingest.verifier:
            ingest.verifier.conn = ingest.verifier.rulebook.conn = counting
    batches = [records[i:i + size] for i in range(0, len(records), size)]
    keys = [pii.keys_for(kiosk.conn, batch) for batch in batches]
    server = server_cpu(db)
    statements, per_batch, cpu = {}, {}, {}
    for name in ("fresh", "resend"):
        counting.count = 0
        hub, backend = time.process_time(), server()
        for batch, batch_keys in zip(batches, keys):
            ingest.batch("s1", "k1", "kiosk", batch, batch_keys)
        statements[name] = round(counting.count / len(records), 2)
        per_batch[name] = round(counting.count / len(batches), 1)
        if name == "fresh":
            cpu["hub"] = round((time.process_time() - hub) * 1000 / len(records), 3)
            if backend is not None:
                cpu["server"] = round((server() - backend) * 1000 / len(records), 3)
    db.close()
    return statements, per_batch, cpu


def server_cpu(db: Db):
    """A reader of the CPU seconds the PostgreSQL backend serving ``db`` has used (None when it is not a
    process of this machine, or SQLite: in the hub's own CPU)."""
    if db.dialect != "postgresql":
        return lambda: None
    stat = Path(f"/proc/{db.conn.pg.info.backend_pid}/stat")

    def read():
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")     # utime + stime
    return read


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--pg", default="postgresql://postgres@localhost/postgres")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ.setdefault("KIOSK_HQ_KEY", str(work / "chain.key"))
        kiosk, records = journal(work, args.members)
        out = {"records": len(records), "batch": args.batch}
        for rederive in (True, False):
            tail = "" if rederive else "_without_rederive"
            sqlite = measure(f"sqlite:///{work / f'hq{tail}.db'}", kiosk, records, args.batch, rederive)
            (out[f"sqlite_statements_per_record{tail}"], out[f"sqlite_statements_per_batch{tail}"],
             out[f"sqlite_cpu_ms_per_record{tail}"]) = sqlite
            pg_url, reason = pg_or_reason(args.pg)
            if not pg_url:
                out["postgresql"] = reason
                continue
            try:
                pg = measure(pg_url, kiosk, records, args.batch, rederive)
                (out[f"postgresql_statements_per_record{tail}"], out[f"postgresql_statements_per_batch{tail}"],
                 out[f"postgresql_cpu_ms_per_record{tail}"]) = pg
            finally:
                drop_pg(args.pg, pg_url)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
