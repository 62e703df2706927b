"""Head-office ingest benchmark (issue 15), printed as ONE JSON line.

Everything runs against a real Mosquitto with its default queue limits (``max_queued_messages``
1000) and hub processes (``kiosk-hq run``) on PostgreSQL when reachable (SQLite otherwise), fed by
the load tool (sync/loadtool.py: real agents, real envelopes, signed confirmations):

- ``one_hub_records_per_s`` / ``two_hubs_records_per_s``: ``--kiosks`` x ``--per-kiosk`` unsent
  transactions drained through one hub, then (fresh database) through two; wall clock from the
  kiosks' connect to the last confirmation applied at the kiosks.
- ``bare_insert_rows_per_s``: the same journal rows inserted with one ``executemany`` in one
  transaction into a bare table of the same database, same run; ``ratio`` = one hub / bare insert.
- ``ack_delay_p95_s``, ``duplicate_share``: from the hubs' own Prometheus metrics (the p95 is the
  upper bound of its histogram bucket); duplicates = records received again / records received;
  ``storm_database_duplicate_share``: the same among the records that went through the database (a
  batch head office already held as sent is answered without, sync/hq/resends.py).
- ``hub_cpu_ms_per_record``, ``postgres_cpu_ms_per_record``: CPU time of the one hub and of its
  PostgreSQL backends per record (start-up excluded): what a core carries, however loaded the machine.
- ``feed_served_per_ingested``: ``--feed-kiosks`` kiosks in ``--feed-stores`` stores that follow the
  feed as every kiosk does, records served in feed pages (until every kiosk reached the head) /
  records ingested; the feed is per store, so about kiosks per store - 1.
- the storm: ``--storm-kiosks`` x ``--storm-per-kiosk`` reconnecting at once through two hubs, one
  killed -9 mid-drain and restarted; lost and applied-twice counted by the fault tests' checker.
- ``--one-hub-only RUNS``: only the one-hub drain, repeated; its own line with the hub's and PostgreSQL's CPU per
  record (median and each run): the quick look at the hub's cost per record.

A drain that runs out of time (``--timeout``, ``--storm-timeout``) still gives the line, with what was
left; progress goes to stderr. Run: ``make bench-hq-ingest`` (``--storm-kiosks 50 --storm-per-kiosk
20`` etc. for a quick look; the full storm takes tens of minutes on a small shared machine).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from bench_hq import drop_pg, pg_or_reason  # noqa: E402
from kiosk.ledger import pii  # noqa: E402
from sync.hq.db import Db  # noqa: E402
from sync.hq.ingest import feed_head  # noqa: E402
from sync.loadtool import Swarm  # noqa: E402
from sync.mqtt import Broker  # noqa: E402
from sync.protocol import generate  # noqa: E402
from tests.sync.faults import classify  # noqa: E402
from tests.sync.mosquitto import Mosquitto, free_port  # noqa: E402


class Hubs:
    """Hub processes on one database, each with its metrics port."""

    def __init__(self, work: Path, db_url: str, broker_url: str, key: str, names: list[str], group: str):
        self.work, self.db_url, self.broker_url, self.key, self.group = work, db_url, broker_url, key, group
        self.ports = {name: free_port() for name in names}
        self.procs = {name: self._start(name) for name in names}
        self.scraped: list[dict] = []        # metrics of hubs that were killed

    def _start(self, name: str) -> subprocess.Popen:
        out = open(self.work / f"{name}.log", "ab")
        return subprocess.Popen([sys.executable, "-m", "sync.hq", "run", "--db", self.db_url, "--broker",
                                 self.broker_url, "--signing-key", self.key, "--hub-id", name, "--group", self.group,
                                 "--log-level", "WARNING",
                                 "--metrics-port", str(self.ports[name])], cwd=REPO, stdout=out, stderr=out,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def wait_ready(self) -> None:
        """Until every hub's probe came back: a batch sent before the subscription exists is lost (and resent)."""
        for name, port in self.ports.items():
            deadline = time.monotonic() + 60
            while True:
                if self.procs[name].poll() is not None:
                    log = (self.work / f"{name}.log").read_text().strip().splitlines()
                    raise RuntimeError(f"hub {name} exited with {self.procs[name].returncode}: {log[-1:]}")
                try:
                    if scrape(port).get(("kiosk_hq_shared_subscription_delivering", "")) == 1:
                        break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"hub on metrics port {port} not delivering after 60 s")
                time.sleep(0.2)

    def kill(self, name: str) -> None:
        self.scraped.append(scrape(self.ports[name]))
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)
        self.procs[name] = self._start(name)

    def cpu_seconds(self) -> float:
        """CPU time the running hubs have used (user + system)."""
        return sum(cpu_seconds(proc.pid) for proc in self.procs.values())

    def metrics(self) -> list[dict]:
        """Every hub's metrics; a hub that is no longer running is reported on stderr, not fatal."""
        found = list(self.scraped)
        for name, port in self.ports.items():
            try:
                found.append(scrape(port))
            except OSError as exc:
                progress(f"hub {name} did not answer its metrics ({exc}); exit code {self.procs[name].poll()}")
        return found

    def stop(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
            proc.wait(30)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc), 0 when it is gone or unreadable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(db_url: str) -> float:
    """CPU time of the PostgreSQL backends serving ``db_url`` (the hubs' connections), when on this machine."""
    if not db_url.startswith("postgresql"):
        return 0.0
    db = Db(db_url)
    try:
        pids = [pid for (pid,) in db.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
    finally:
        db.close()
    return sum(cpu_seconds(pid) for pid in pids)


def scrape(port: int) -> dict:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {(s.name, s.labels.get("le", "")): s.value for f in text_string_to_metric_families(text) for s in f.samples}


def total(metrics: list[dict], name: str) -> float:
    return sum(m.get((name, ""), 0) for m in metrics)


def p95(metrics: list[dict], name: str) -> float | str | None:
    """The upper bound of the histogram bucket holding the 95th percentile; past the largest bucket,
    ">largest" (JSON has no infinity)."""
    buckets: dict[float, float] = {}
    for m in metrics:
        for (metric, le), value in m.items():
            if metric == f"{name}_bucket":
                buckets[float(le)] = buckets.get(float(le), 0) + value
    count = buckets.get(float("inf"), 0)
    if not count:
        return None
    found = next(le for le, n in sorted(buckets.items()) if n >= 0.95 * count)
    return found if found != float("inf") else f">{max(le for le in buckets if le != float('inf')):g}"


class Bench:
    def __init__(self, work: Path, pg_admin: str):
        self.work, self.pg_admin = work, pg_admin
        generate(work / "hq.pem", work / "hq.pub")
        # the chain's personal-data key: the hubs (children) and this process's Db read $KIOSK_HQ_KEY
        os.environ["KIOSK_HQ_KEY"] = str(work / "chain.key")
        self.chain_key = pii.load_or_make(work / "chain.key")
        self.broker = Mosquitto(work / "broker").start()       # default max_queued_messages: 1000
        self.dialect = "postgresql"
        self.postgres_skipped = ""

    def database(self, name: str) -> str:
        url, reason = pg_or_reason(self.pg_admin)
        if url:
            return url
        self.dialect, self.postgres_skipped = "sqlite", reason
        return f"sqlite:///{self.work / (name + '.db')}"

    def drop(self, url: str) -> None:
        if url.startswith("postgresql"):
            drop_pg(self.pg_admin, url)

    def drain(self, name: str, hub_names: list[str], kiosks: int, per_kiosk: int, *, follow_feed: bool = False,
              kill: str | None = None, timeout: float = 1800, stores: int = 1) -> dict:
        """Fill, connect, drain; on ``timeout`` the result says what was left (``left``) rather than no line."""
        db_url = self.database(name)
        started = time.monotonic()
        swarm = Swarm(self.work / name, kiosks=kiosks, per_kiosk=per_kiosk, stores=stores, prefix=name[:2],
                      pii_key=self.chain_key)
        records = swarm.fill()
        swarm.enrol(db_url)
        progress(f"{name}: {kiosks} kiosks x {per_kiosk} filled in {time.monotonic() - started:.0f} s")
        # each run its own hub ids and group: Mosquitto keeps queueing to a stopped member of a group
        hubs = Hubs(self.work, db_url, self.broker.url, str(self.work / "hq.pem"),
                    [f"{name}-{hub}" for hub in hub_names], group=name)
        killed: list[int] = []
        told = [time.monotonic()]

        def during(left: int) -> None:
            if kill and not killed and left < records * 0.7:
                hubs.kill(f"{name}-{kill}")
                killed.append(left)
                progress(f"{name}: hub {kill} killed -9 and restarted, {left} unconfirmed")
            if time.monotonic() - told[0] > 60:
                progress(f"{name}: {left} of {records} unconfirmed")
                told[0] = time.monotonic()
        try:
            hubs.wait_ready()
            cpu_at_start = hubs.cpu_seconds(), postgres_cpu_seconds(db_url)      # not the hubs' start-up
            swarm.connect(Broker(self.broker.url), str(self.work / "hq.pub"), follow_feed=follow_feed)
            drained = time.monotonic()
            try:
                seconds, left = swarm.drain(timeout, during=during), 0
            except TimeoutError:
                seconds, left = time.monotonic() - drained, swarm.backlog()
            if follow_feed:
                catch_up(swarm, db_url)
            result = {"records": records, "confirmed": records - left, "left": left, "s": seconds,
                      "metrics": hubs.metrics(), "killed_at_backlog": killed,
                      "hub_cpu_s": hubs.cpu_seconds() - cpu_at_start[0],
                      "postgres_cpu_s": postgres_cpu_seconds(db_url) - cpu_at_start[1]}
            progress(f"{name}: {records - left} of {records} records confirmed in {seconds:.1f} s")
            if kill:
                result["check"] = classify(db_url, swarm.ledgers())
                progress(f"{name}: checked {dict(result['check'])}")
            if name == "one":
                result["bare_s"] = bare_insert(db_url)
            return result
        finally:
            swarm.close()
            hubs.stop()
            self.drop(db_url)


def catch_up(swarm: Swarm, db_url: str, timeout: float = 120) -> None:
    """Turn until every kiosk's feed position reached head office's head: the outboxes are confirmed
    before the feed pages that carry the other kiosks' records have all been served, and before the hub
    has numbered the last rows (once a second, feedlog.py): the head is read once every row has its place."""
    deadline = time.monotonic() + timeout
    db = Db(db_url)
    try:
        while db.conn.execute("SELECT 1 FROM hq_log WHERE hq_seq IS NULL LIMIT 1").fetchone() \
                and time.monotonic() < deadline:
            swarm.turn()
        head = feed_head(db.conn)
    finally:
        db.close()
    while any(agent.state.get("feed", 0) < head for agent in swarm.agents) and time.monotonic() < deadline:
        swarm.turn()


def progress(line: str) -> None:
    """A long run's progress, on stderr (the JSON line alone goes to stdout)."""
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def bare_insert(db_url: str) -> float:
    """Seconds to insert the journal's rows again, one executemany in one transaction, into a bare table."""
    db = Db(db_url)
    try:
        rows = db.conn.execute("SELECT tx_id, kiosk_id, seq, kind, at, operator, member_id, record FROM journal"
                               ).fetchall()
        db.conn.execute("CREATE TABLE bench_bare (tx_id TEXT PRIMARY KEY, kiosk_id TEXT, seq INTEGER, kind TEXT,"
                        " at TEXT, operator TEXT, member_id TEXT, record TEXT)")
        start = time.perf_counter()
        with db.transaction():
            if db.dialect == "sqlite":
                db.conn.executemany("INSERT INTO bench_bare VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            else:       # psycopg's executemany pipelines the rows: the fastest plain INSERT it has (raw cursor: $n)
                db.conn.pg.cursor().executemany("INSERT INTO bench_bare VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", rows)
        return (time.perf_counter() - start) / len(rows)
    finally:
        db.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kiosks", type=int, default=8)
    p.add_argument("--per-kiosk", type=int, default=2000)
    p.add_argument("--feed-kiosks", type=int, default=8)
    p.add_argument("--feed-per-kiosk", type=int, default=200)
    p.add_argument("--feed-stores", type=int, default=4, help="the feed kiosks' stores (the feed is per store)")
    p.add_argument("--storm-kiosks", type=int, default=1000)
    p.add_argument("--storm-per-kiosk", type=int, default=100)
    p.add_argument("--timeout", type=float, default=1800, help="seconds each drain may take")
    p.add_argument("--storm-timeout", type=float, default=5400, help="seconds the storm's drain may take")
    p.add_argument("--pg", default="postgresql://postgres@localhost:5432/postgres")
    p.add_argument("--one-hub-only", type=int, metavar="RUNS",
                   help="only the one-hub drain, RUNS times: the hub's and PostgreSQL's CPU per record (median and"
                        " each run); a quick look at the hub's own cost (--kiosks 20 --per-kiosk 200: seconds a run)")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-hq-ingest-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    load_before = os.getloadavg()
    bench = Bench(work, args.pg)
    if args.one_hub_only:
        try:
            runs = [bench.drain(f"hub{n}", ["hq-1"], args.kiosks, args.per_kiosk, timeout=args.timeout)
                    for n in range(args.one_hub_only)]
        finally:
            bench.broker.stop()
        print(json.dumps(cpu_figures(bench, runs) | {"kiosks": args.kiosks, "per_kiosk": args.per_kiosk, "cpus": os.cpu_count(),
                                              "load_average_1m_before_after": [round(load_before[0], 1),
                                                                               round(os.getloadavg()[0], 1)]}))
        shutil.rmtree(work)
        return
    try:
        one = bench.drain("one", ["hq-1"], args.kiosks, args.per_kiosk, timeout=args.timeout)
        two = bench.drain("two", ["hq-1", "hq-2"], args.kiosks, args.per_kiosk, timeout=args.timeout)
        feed = bench.drain("feed", ["hq-1"], args.feed_kiosks, args.feed_per_kiosk, follow_feed=True,
                           timeout=args.timeout, stores=args.feed_stores)
        storm = bench.drain("storm", ["hq-1", "hq-2"], args.storm_kiosks, args.storm_per_kiosk, kill="hq-1",
                            timeout=args.storm_timeout)
    finally:
        bench.broker.stop()
    print(json.dumps(figures(args, bench, one, two, feed, storm) | {
        "kiosks": args.kiosks, "per_kiosk": args.per_kiosk, "cpus": os.cpu_count(),
        "load_average_1m_before_after": [round(load_before[0], 1), round(os.getloadavg()[0], 1)]}))
    shutil.rmtree(work)         # kept when the run failed: the hubs' logs are there


def cpu_figures(bench: Bench, runs: list[dict]) -> dict:
    """CPU per record of the one hub and of its PostgreSQL backends over repeated drains: median and each run."""
    found = {}
    for figure, key in (("hub_cpu_ms_per_record", "hub_cpu_s"), ("postgres_cpu_ms_per_record", "postgres_cpu_s")):
        each = [round(1000 * run[key] / max(1, run["confirmed"]), 3) for run in runs]
        found |= {figure: statistics.median(each), f"{figure}_runs": each}
    return {"bench": "hq-ingest-one-hub-cpu", "database": bench.dialect, **found,
            "unconfirmed_left": sum(run["left"] for run in runs)}


def figures(args, bench: Bench, one: dict, two: dict, feed: dict, storm: dict) -> dict:
    """The JSON line's figures. A drain that ran out of time still gives its line: rates count what was
    confirmed, and the storm says how much was left instead of a drain time."""
    measured = one["metrics"] + two["metrics"]
    one_rate, bare_rate = one["confirmed"] / one["s"], 1 / one["bare_s"]
    check, drained = storm["check"], not storm["left"]
    skipped = total(storm["metrics"], "kiosk_hq_records_skipped_total")      # resends answered without the database
    return {
        "bench": "hq-ingest", "database": bench.dialect, **({"postgres_skipped": bench.postgres_skipped}
                                                            if bench.postgres_skipped else {}),
        "one_hub_records_per_s": round(one_rate), "two_hubs_records_per_s": round(two["confirmed"] / two["s"]),
        "bare_insert_rows_per_s": round(bare_rate), "ratio_one_hub_to_bare_insert": round(one_rate / bare_rate, 4),
        "ack_delay_p95_s": p95(measured, "kiosk_hq_ack_delay_seconds"),
        "duplicate_share": round(total(measured, "kiosk_hq_duplicates_total")
                                 / max(1, total(measured, "kiosk_hq_records_total")), 4),
        # per record, in CPU time: what a dedicated core would carry, whatever else shared the machine
        "hub_cpu_ms_per_record": round(1000 * one["hub_cpu_s"] / max(1, one["confirmed"]), 2),
        "postgres_cpu_ms_per_record": round(1000 * one["postgres_cpu_s"] / max(1, one["confirmed"]), 2),
        "feed_served_per_ingested": round(total(feed["metrics"], "kiosk_hq_feed_records_served_total")
                                          / max(1, feed["confirmed"]), 2),
        "feed_kiosks_per_store": round(args.feed_kiosks / args.feed_stores, 1),
        "storm_kiosks": args.storm_kiosks, "storm_per_kiosk": args.storm_per_kiosk,
        "storm_drain_s": round(storm["s"], 1) if drained else None,
        **({} if drained else {"storm_stopped_after_s": round(storm["s"]), "storm_unconfirmed_left": storm["left"],
                               "storm_not_at_hq_when_stopped": check["lost"]}),
        "storm_lost": check["lost"] if drained else None, "storm_applied_twice": check["twice"],
        "storm_inconsistent": check["inconsistent"], "storm_killed_hub_at_backlog": storm["killed_at_backlog"],
        "storm_duplicate_share": round(total(storm["metrics"], "kiosk_hq_duplicates_total")
                                       / max(1, total(storm["metrics"], "kiosk_hq_records_total")), 4),
        "storm_database_duplicate_share": round(
            (total(storm["metrics"], "kiosk_hq_duplicates_total") - skipped)
            / max(1, total(storm["metrics"], "kiosk_hq_records_total") - skipped), 4),
        "unconfirmed_left": {name: run["left"] for name, run in (("one", one), ("two", two), ("feed", feed))
                             if run["left"]},
    }


if __name__ == "__main__":
    main()
