"""Feed heads and resends during a small storm (issue 15), printed as ONE JSON line.

``--kiosks`` load-tool kiosks (sync/loadtool.py: real agents) in ``--stores`` stores reconnect at once
with ``--per-kiosk`` unsent transactions each, through two hub processes on one PostgreSQL database
(SQLite and one hub when PostgreSQL is not reachable) and a real Mosquitto; then one kiosk makes a
transaction a second for ``--idle`` seconds (the rest of the chain quiet); then nothing happens for
``--idle`` seconds.

- ``head_deliveries_per_s_load`` / ``_one_busy`` / ``_idle``: feed-head messages the broker delivers to
  the kiosks per second in each phase. A spy counts every head the hubs publish on the chain-wide topic
  (``kiosk/v1/hq/feed``: every kiosk of a release before per-store heads subscribes to it) and on each
  store's (``kiosk/v1/hq/feed/<store>``: that store's kiosks); each counts once per kiosk subscribed.
- ``duplicate_share``: records the hubs received again (resends) / records received;
  ``database_duplicate_share``: the same among the records that went through the database (a batch head
  office already held as sent is answered without, sync/hq/resends.py); ``ack_delay_p95_s``,
  ``ack_delay_mean_s``: arrival at a hub to its acknowledgement (the p95 is the upper bound of its
  histogram bucket).
- ``hub_cpu_ms_per_record``: CPU time of the hubs per record confirmed.

Run: ``make bench-feed-heads`` (50 kiosks x 20 in 10 stores: a few minutes on a small shared machine).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import paho.mqtt.client as mqtt  # noqa: E402

from bench_hq import drop_pg, pg_or_reason  # noqa: E402
from bench_hq_ingest import Hubs, p95, total  # noqa: E402
from kiosk.ledger import pii  # noqa: E402
from sync.loadtool import Swarm  # noqa: E402
from sync.mqtt import Broker  # noqa: E402
from sync.protocol import generate  # noqa: E402
from tests.sync.mosquitto import Mosquitto  # noqa: E402

FEED = "kiosk/v1/hq/feed"


class Spy:
    """Counts the feed heads the hubs publish, per topic (a plain subscriber; retained copies not counted)."""

    def __init__(self, url: str):
        self.counts: Counter = Counter()
        host, port = url.removeprefix("mqtt://").split(":")
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-spy", protocol=mqtt.MQTTv5)
        self.client.on_message = lambda c, u, msg: None if msg.retain else self.counts.update([msg.topic])
        self.client.connect(host, int(port))
        self.client.subscribe([(FEED, 0), (FEED + "/+", 0)])
        self.client.loop_start()

    def deliveries(self, swarm: Swarm) -> int:
        """Messages the broker handed the swarm's kiosks for what was counted since the last call."""
        subscribed = Counter(t for agent in swarm.agents for t in agent.topics.downlinks())
        found = sum(n * subscribed[topic] for topic, n in self.counts.items())
        self.counts.clear()
        return found


def busy_kiosk(swarm: Swarm, seconds: float) -> None:
    """One kiosk makes a transaction a second (the others quiet) while every kiosk keeps turning."""
    agent, next_tx, until = swarm.agents[0], 0.0, time.monotonic() + seconds
    while time.monotonic() < until:
        if time.monotonic() >= next_tx:
            agent.ledger.topup(f"{agent.topics.source}-card", 100, operator="admin")
            next_tx = time.monotonic() + 1
        swarm.turn()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kiosks", type=int, default=50)
    ap.add_argument("--per-kiosk", type=int, default=20)
    ap.add_argument("--stores", type=int, default=10)
    ap.add_argument("--idle", type=float, default=20)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--pg", default="postgresql://postgres@localhost:5432/postgres")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-feed-heads-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    generate(work / "hq.pem", work / "hq.pub")
    os.environ["KIOSK_HQ_KEY"] = str(work / "chain.key")
    chain_key = pii.load_or_make(work / "chain.key")
    db_url, no_pg = pg_or_reason(args.pg)
    db_url = db_url or f"sqlite:///{work / 'hq.db'}"
    broker = Mosquitto(work / "broker").start()
    swarm = Swarm(work / "kiosks", kiosks=args.kiosks, per_kiosk=args.per_kiosk, stores=args.stores, pii_key=chain_key)
    records = swarm.fill()
    swarm.enrol(db_url)
    hubs = Hubs(work, db_url, broker.url, str(work / "hq.pem"), ["hq-1", "hq-2"] if not no_pg else ["hq-1"], "hq")
    try:
        hubs.wait_ready()
        spy = Spy(broker.url)
        cpu = hubs.cpu_seconds()
        swarm.connect(Broker(broker.url), str(work / "hq.pub"))
        seconds = swarm.drain(args.timeout)
        cpu = hubs.cpu_seconds() - cpu
        metrics = hubs.metrics()
        time.sleep(1.5)          # the last heads of the drain
        load = spy.deliveries(swarm)
        busy_kiosk(swarm, args.idle)
        time.sleep(1.5)
        one_busy = spy.deliveries(swarm)
        idle_until = time.monotonic() + args.idle
        while time.monotonic() < idle_until:
            swarm.turn()
        idle = spy.deliveries(swarm)
    finally:
        swarm.close()
        hubs.stop()
        broker.stop()
        if not no_pg:
            drop_pg(args.pg, db_url)
    received, duplicates = total(metrics, "kiosk_hq_records_total"), total(metrics, "kiosk_hq_duplicates_total")
    skipped = total(metrics, "kiosk_hq_records_skipped_total")
    print(json.dumps({
        "kiosks": args.kiosks, "per_kiosk": args.per_kiosk, "stores": args.stores, "hubs": len(hubs.procs),
        "database": "sqlite" if no_pg else "postgresql", "drain_s": round(seconds, 1),
        "head_deliveries_per_s_load": round(load / seconds, 1),
        "head_deliveries_per_s_one_busy": round(one_busy / args.idle, 2),
        "head_deliveries_per_s_idle": round(idle / args.idle, 2),
        "duplicate_share": round(duplicates / max(1, received), 4),
        "database_duplicate_share": round((duplicates - skipped) / max(1, received - skipped), 4),
        "ack_delay_p95_s": p95(metrics, "kiosk_hq_ack_delay_seconds"),
        "ack_delay_mean_s": round(total(metrics, "kiosk_hq_ack_delay_seconds_sum")
                                  / max(1, total(metrics, "kiosk_hq_ack_delay_seconds_count")), 2),
        "hub_cpu_ms_per_record": round(1000 * cpu / records, 2), "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 1)}))


if __name__ == "__main__":
    main()
