"""Ledger benchmark: durable purchases per second against a bare SQLite insert, and card look-up
latency with a million members. Prints one JSON line.

- raw_sqlite_tx_per_s: one-row INSERT per transaction, WAL + synchronous=FULL (the physical limit:
  one durable commit each), measured in the same run on the same disk.
- ledger_tx_per_s: purchases with tier check, points earned into a lot, journal and outbox rows,
  each committed durably.
- lookup_us_p95: card -> member look-up with 1,000,000 members (their name and phone decrypted with
  each member's own data key); member_view_us_p95: everything the member home screen reads.
"""
from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kiosk.ledger import Ledger, lines_from_amount, pii  # noqa: E402
from kiosk.ledger.core import connect  # noqa: E402


class RawInserts:
    """The physical limit: a one-row INSERT per durable commit, with the ledger's own pragmas."""

    def __init__(self, path: Path):
        self.conn = connect(path)
        self.conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, tx TEXT NOT NULL, body TEXT NOT NULL)")
        self.done = 0

    def rate(self, n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute("INSERT INTO t (tx, body) VALUES (?, ?)", (f"tx-{self.done}", "x" * 200))
            self.conn.execute("COMMIT")
            self.done += 1
        return n / (time.perf_counter() - start)


class Purchases:
    """Purchases with tier check, points lot, journal and outbox, each committed durably."""

    def __init__(self, path: Path, members: int):
        self.led = Ledger.create(path, kiosk_id="bench", store_id="bench")
        self.cards = [f"C{i}" for i in range(members)]   # a realistic spread: about one purchase per member
        for i, card in enumerate(self.cards):
            self.led.register(name=f"M{i}", phone=f"138{i:08d}", card_id=card, operator="admin")
        self.rng = random.Random(1)

    def rate(self, n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            self.led.purchase(self.rng.choice(self.cards), lines_from_amount(self.rng.randint(100, 50_000)),
                              operator="admin")
        return n / (time.perf_counter() - start)


def interleaved(raw: RawInserts, ledger: Purchases, n: int, rounds: int) -> tuple[float, float]:
    """Alternate the two in rounds and take medians: the disk's speed drifts during a run."""
    raw_rates, ledger_rates = [], []
    for _ in range(rounds):
        raw_rates.append(raw.rate(n // rounds))
        ledger_rates.append(ledger.rate(n // rounds))
    return statistics.median(raw_rates), statistics.median(ledger_rates)


def million_members(path: Path, members: int) -> Ledger:
    """Bulk-load members and cards straight into the projections (as a head-office import would), each
    with its own data key and its name and phone encrypted, as the ledger keeps them."""
    led = Ledger.create(path, kiosk_id="bench", store_id="bench")
    conn = led.conn
    conn.execute("BEGIN")
    batch = 50_000
    for lo in range(0, members, batch):
        ids = range(lo, min(members, lo + batch))
        conn.executemany("INSERT INTO members (member_id, name, phone, joined_at, tier, tier_since)"
                         " VALUES (?, ?, ?, '2026-01-01T00:00:00.000000Z', 'registered', '2026-01-01T00:00:00.000000Z')",
                         (_sealed(conn, led.keyring, f"M{i:012d}", f"Member {i}", f"+861{i:010d}") for i in ids))
        conn.executemany("INSERT INTO cards (card_id, member_id, status, issued_at)"
                         " VALUES (?, ?, 'active', '2026-01-01T00:00:00.000000Z')",
                         ((f"CARD{i:010d}", f"M{i:012d}") for i in ids))
    conn.execute("COMMIT")
    return led


def _sealed(conn, keyring, member_id: str, name: str, phone: str) -> tuple[str, str, str]:
    sealed = pii.seal_profile(conn, keyring, member_id, {"name": name, "phone": phone}, new=True)
    return member_id, sealed["name"], sealed["phone"]


def percentile(values: list[float], pct: float) -> float:
    return statistics.quantiles(values, n=100)[int(pct) - 1]


def lookups(led: Ledger, members: int, n: int) -> dict:
    rng = random.Random(2)
    cards = [f"CARD{rng.randrange(members):010d}" for _ in range(n)]
    times, views = [], []
    for card in cards:
        t0 = time.perf_counter()
        led.member_for_card(card)
        times.append((time.perf_counter() - t0) * 1e6)
    for card in cards[: n // 4]:
        t0 = time.perf_counter()
        led.member_view(card)
        views.append((time.perf_counter() - t0) * 1e6)
    return {"lookup_us_p50": round(statistics.median(times), 1), "lookup_us_p95": round(percentile(times, 95), 1),
            "member_view_us_p95": round(percentile(views, 95), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tx", type=int, default=3000, help="transactions per measurement")
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds of each measurement")
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--dir", default=None, help="where to put the files (default: a temp dir on disk)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir or Path(__file__).resolve().parents[1]) as tmp:
        tmp = Path(tmp)
        purchases = Purchases(tmp / "ledger.db", args.tx)
        raw_mean, ledger = interleaved(RawInserts(tmp / "raw.db"), purchases, args.tx, args.rounds)
        purchases.led.close()
        t0 = time.perf_counter()
        led = million_members(tmp / "million.db", args.members)
        load_s = time.perf_counter() - t0
        result = {"ledger_tx_per_s": round(ledger, 1), "raw_sqlite_tx_per_s": round(raw_mean, 1),
                  "ratio": round(ledger / raw_mean, 3), "target_ratio": 0.5, "transactions": args.tx, "rounds": args.rounds,
                  "members": args.members, "member_load_s": round(load_s, 1), **lookups(led, args.members, 4000),
                  "sqlite": sqlite3.sqlite_version}
        led.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
