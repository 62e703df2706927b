"""Sync benchmark, printed as ONE JSON line: the end-to-end rate next to the raw MQTT limit.

- End to end: transactions committed on a kiosk ledger while ``kiosk-sync`` and ``kiosk-hq``
  run as their own processes (SQLite at head office), timed from the first kiosk commit until
  head office's confirmation of the last one is applied in the kiosk's file.
- Raw paho QoS 1 round trip through the same broker in the same run: one client publishes,
  another echoes every message back, both at QoS 1 with paho's default in-flight window. One
  round trip is what one confirmed batch costs, so ``ratio`` = end-to-end tx/s per round trip/s.
- Backlog: 10,000 transactions committed while the agent is stopped, then the seconds from the
  agent's start until all are confirmed.
- Hub ingest with and without re-derivation (sync/hq/rederive.py): a kiosk journal of purchases,
  top-ups, check-ins and refunds ingested in batches of 200 into two fresh SQLite hub databases, one
  re-deriving every record's effects (as the hub runs), one applying them unverified (the old way).

Run: ``make bench-sync`` or ``.venv/bin/python bench/bench_sync.py [--live N] [--backlog N]``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from kiosk.ledger import Ledger, lines_from_amount  # noqa: E402
from sync.hq.db import Db  # noqa: E402
from sync.hq.ingest import Ingest  # noqa: E402
from sync.protocol import generate  # noqa: E402
from tests.sync.mosquitto import Mosquitto  # noqa: E402


def raw_round_trips(port: int, n: int) -> float:
    """QoS 1 messages per second going publisher -> broker -> echo -> broker -> publisher."""
    done, got = threading.Event(), [0]
    echo = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-echo", protocol=mqtt.MQTTv5)
    echo.on_message = lambda c, u, m: c.publish("bench/pong", m.payload, qos=1)
    echo.connect("127.0.0.1", port)
    echo.subscribe("bench/ping", qos=1)
    echo.loop_start()
    origin = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-origin", protocol=mqtt.MQTTv5)

    def pong(c, u, m):
        got[0] += 1
        if got[0] == n:
            done.set()
    origin.on_message = pong
    origin.connect("127.0.0.1", port)
    origin.subscribe("bench/pong", qos=1)
    origin.loop_start()
    time.sleep(0.5)
    payload = b"x" * 600           # about one transaction record
    start = time.perf_counter()
    for _ in range(n):
        origin.publish("bench/ping", payload, qos=1)
    if not done.wait(120):
        raise RuntimeError(f"raw round trip: only {got[0]} of {n} came back")
    elapsed = time.perf_counter() - start
    for c in (origin, echo):
        c.loop_stop()
        c.disconnect()
    return n / elapsed


def commit(ledger: Ledger, n: int, cards: list[str]) -> float:
    start = time.perf_counter()
    for i in range(n):
        ledger.topup(cards[i % len(cards)], 100 + i % 900, operator="admin")
    return n / (time.perf_counter() - start)


def wait_confirmed(ledger: Ledger, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while ledger.outbox_backlog():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{ledger.outbox_backlog()} transactions still unconfirmed")
        time.sleep(0.01)
    return time.perf_counter()


def counter_journal(path: Path, n: int) -> list[dict]:
    """A kiosk journal of about ``n`` records, mixed like a counter's day."""
    ledger = Ledger.create(path, kiosk_id="k2", store_id="s1")
    cards = [f"M{i}" for i in range(50)]
    for i, card in enumerate(cards):
        ledger.register(name=f"Mix {i}", phone=f"1390000{i:04d}", card_id=card, operator="admin")
        ledger.topup(card, 1_000_000, operator="admin")
    for i in range(n // 4):
        card = cards[i % len(cards)]
        lines = lines_from_amount(0, [("A", "food", 600 + i % 4000), ("B", "drink", 400 + i % 1000)])
        bought = ledger.purchase(card, lines, pay="stored-value" if i % 2 else "external", operator="admin")
        ledger.topup(card, 100 + i % 900, operator="admin")
        ledger.refund(bought["tx_id"], 100, operator="admin")
        if i < len(cards):
            ledger.checkin(card)
        else:
            ledger.purchase(card, lines_from_amount(500 + i % 700), operator="admin")
    records = ledger.journal(limit=10 * n)
    ledger.close()
    return records


def hub_ingest(url: str, records: list[dict], rederive: bool) -> float:
    """Records per second ingested in batches of 200 (as the hub gets them), verification on or off."""
    db = Db(url)
    ingest = Ingest(db, rederive=rederive)
    start = time.perf_counter()
    for i in range(0, len(records), 200):
        ingest.batch("s1", "k2", "kiosk", records[i:i + 200])
    elapsed = time.perf_counter() - start
    db.close()
    return len(records) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", type=int, default=3000, help="transactions in the end-to-end run")
    parser.add_argument("--backlog", type=int, default=10000)
    parser.add_argument("--raw", type=int, default=5000, help="messages in the raw round-trip run")
    parser.add_argument("--ingest", type=int, default=4000, help="records in the hub-ingest run")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    mixed = counter_journal(work / "k2.db", args.ingest)
    unverified = hub_ingest(f"sqlite:///{work / 'plain.db'}", mixed, rederive=False)
    rederived = hub_ingest(f"sqlite:///{work / 'verified.db'}", mixed, rederive=True)
    broker = Mosquitto(work / "broker", max_queued=100000).start()
    generate(work / "hq.pem", work / "hq.pub")
    ledger = Ledger.create(work / "k1.db", kiosk_id="k1", store_id="s1")
    cards = [f"C{i}" for i in range(50)]
    for i, card in enumerate(cards):
        ledger.register(name=f"Bench {i}", phone=f"1380000{i:04d}", card_id=card, operator="admin")
    subprocess.run([sys.executable, "-m", "sync.hq", "enrol", "--db", f"sqlite:///{work / 'hq.db'}", "k1",
                    "--store", "s1"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    common = {"cwd": REPO, "stdout": subprocess.DEVNULL, "stderr": open(work / "services.log", "ab")}
    hub = subprocess.Popen([sys.executable, "-m", "sync.hq", "run", "--db", f"sqlite:///{work / 'hq.db'}",
                            "--broker", broker.url, "--signing-key", str(work / "hq.pem"), "--log-level", "WARNING"],
                           **common)
    agent_cmd = [sys.executable, "-m", "sync.agent", "--db", str(work / "k1.db"), "--kiosk-id", "k1", "--store-id",
                 "s1", "--hq-key", str(work / "hq.pub"), "--broker", broker.url, "--log-level", "WARNING"]
    agent = subprocess.Popen(agent_cmd, **common)
    try:
        wait_confirmed(ledger, 60)
        raw = raw_round_trips(broker.port, args.raw)

        start = time.perf_counter()
        local = commit(ledger, args.live, cards)
        e2e = args.live / (wait_confirmed(ledger) - start)

        agent.terminate()
        agent.wait(30)
        commit(ledger, args.backlog, cards)
        start = time.perf_counter()
        agent = subprocess.Popen(agent_cmd, **common)
        drain = wait_confirmed(ledger) - start
    finally:
        for proc in (agent, hub):
            proc.terminate()
            proc.wait(30)
        broker.stop()
    print(json.dumps({
        "e2e_tx_per_s": round(e2e), "kiosk_commit_tx_per_s_same_run": round(local),
        "raw_qos1_round_trips_per_s": round(raw), "ratio_e2e_tx_to_raw_round_trips": round(e2e / raw, 2),
        "backlog": args.backlog, "backlog_drain_s": round(drain, 2),
        "backlog_tx_per_s": round(args.backlog / drain), "live_tx": args.live, "batch": 200, "window": 8,
        "hub_ingest_records": len(mixed), "hub_ingest_rederived_per_s": round(rederived),
        "hub_ingest_unverified_per_s": round(unverified),
        "ratio_rederived_to_unverified": round(rederived / unverified, 2), "cpus": os.cpu_count()}))


if __name__ == "__main__":
    main()
