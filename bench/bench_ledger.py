"""Ledger benchmark: durable purchases per second against a bare SQLite insert, and card look-up
latency with a million members. Prints one JSON line.

- raw_sqlite_tx_per_s: one-row INSERT per transaction, WAL + synchronous=FULL (the physical limit:
  one durable commit each), measured in the same run on the same disk.
- ledger_tx_per_s: purchases with tier check, points earned into a lot, journal and outbox rows,
  each committed durably.
- offline_spend_tx_per_s: the same purchases paid from stored value on a kiosk of a chain, approved
  by the offline limits (kiosk/ledger/guard.py: checked before the write lock and again inside it,
  the allowance committed with the purchase); offline_spend_ratio compares them with the same
  purchases approved at once (a guard that reads nothing, as if head office answered instantly),
  so it is the cost of the offline limits' bookkeeping.
- lookup_us_p95: card -> member look-up with 1,000,000 members; member_view_us_p95: everything the
  member home screen reads.
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

from kiosk.ledger import Approval, Ledger, lines_from_amount  # noqa: E402
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
    """Purchases with tier check, points lot, journal and outbox, each committed durably.
    ``pay="stored-value"``: paid from stored value on an enrolled kiosk, so each one is guarded."""

    def __init__(self, path: Path, members: int, pay: str = "external", guard=None):
        self.led = Ledger.create(path, kiosk_id="bench", store_id="bench")
        if guard is not None:
            self.led.close()
            self.led = Ledger(path, guard=guard)
        self.cards = [f"C{i}" for i in range(members)]   # a realistic spread: about one purchase per member
        for i, card in enumerate(self.cards):
            self.led.register(name=f"M{i}", phone=f"138{i:08d}", card_id=card, operator="admin")
            if pay == "stored-value":
                self.led.topup(card, 10_000_000, operator="admin")
        if pay == "stored-value":
            self.led.set_offline_limits({"window_hours": 24, **{unit: dict.fromkeys(
                ("per_tx", "member_day", "kiosk_total"), 10**12) for unit in ("fen", "points", "uses")}})
            self.led.heard_from_head_office()
        self.pay, self.rng = pay, random.Random(1)

    def rate(self, n: int) -> float:
        if self.pay == "stored-value":
            self.led.heard_from_head_office()     # the agent hears from head office every 30 s
        start = time.perf_counter()
        for _ in range(n):
            self.led.purchase(self.rng.choice(self.cards), lines_from_amount(self.rng.randint(100, 50_000)),
                              pay=self.pay, operator="admin")
        return n / (time.perf_counter() - start)


class ApproveAll:
    """A guard that approves every spend at once without reading anything (the baseline)."""

    def approve(self, ledger, member, card_id, spends):
        return Approval(True, True, "approved", spends)


def interleaved(measured: list, n: int, rounds: int) -> list[float]:
    """Alternate the measurements in rounds and take medians: the disk's speed drifts during a run."""
    rates = [[] for _ in measured]
    for _ in range(rounds):
        for each, rate in zip(measured, rates):
            rate.append(each.rate(n // rounds))
    return [statistics.median(rate) for rate in rates]


def million_members(path: Path, members: int) -> Ledger:
    """Bulk-load members and cards straight into the projections (as a head-office import would)."""
    led = Ledger.create(path, kiosk_id="bench", store_id="bench")
    conn = led.conn
    conn.execute("BEGIN")
    batch = 50_000
    for lo in range(0, members, batch):
        ids = range(lo, min(members, lo + batch))
        conn.executemany("INSERT INTO members (member_id, name, phone, joined_at, tier, tier_since)"
                         " VALUES (?, ?, ?, '2026-01-01T00:00:00.000000Z', 'registered', '2026-01-01T00:00:00.000000Z')",
                         ((f"m{i:012d}", f"Member {i}", f"1{i:010d}") for i in ids))
        conn.executemany("INSERT INTO cards (card_id, member_id, status, issued_at)"
                         " VALUES (?, ?, 'active', '2026-01-01T00:00:00.000000Z')",
                         ((f"CARD{i:010d}", f"m{i:012d}") for i in ids))
    conn.execute("COMMIT")
    return led


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
        offline = Purchases(tmp / "offline.db", args.tx, pay="stored-value")
        approved = Purchases(tmp / "approved.db", args.tx, pay="stored-value", guard=ApproveAll())
        measured = [RawInserts(tmp / "raw.db"), purchases, offline, approved]
        raw_mean, ledger, offline_rate, approved_rate = interleaved(measured, args.tx, args.rounds)
        for each in measured[1:]:
            each.led.close()
        t0 = time.perf_counter()
        led = million_members(tmp / "million.db", args.members)
        load_s = time.perf_counter() - t0
        result = {"ledger_tx_per_s": round(ledger, 1), "raw_sqlite_tx_per_s": round(raw_mean, 1),
                  "ratio": round(ledger / raw_mean, 3), "target_ratio": 0.5,
                  "offline_spend_tx_per_s": round(offline_rate, 1), "approved_spend_tx_per_s": round(approved_rate, 1),
                  "offline_spend_ratio": round(offline_rate / approved_rate, 3),
                  "transactions": args.tx, "rounds": args.rounds,
                  "members": args.members, "member_load_s": round(load_s, 1), **lookups(led, args.members, 4000),
                  "sqlite": sqlite3.sqlite_version}
        led.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
