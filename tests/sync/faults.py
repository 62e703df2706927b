"""The fault-injection world: a broker, a proxy, kiosk agents and hubs as real processes,
a producer writing transactions like the kiosk UI does, and the checker that classifies every
transaction as applied once, lost, or applied twice."""
from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

from kiosk.ledger import Ledger, LedgerError, lines_from_amount
from kiosk.ledger.schema import PROJECTIONS
from kiosk.ledger.verify import replay
from sync.hq import feedlog
from sync.hq.db import Db

from .conftest import enrol
from .mosquitto import Mosquitto
from .proxy import Proxy

log = logging.getLogger("tests.faults")
REPO = Path(__file__).resolve().parents[2]
FAULTS = ("agent", "hub", "broker", "cut")


class World:
    def __init__(self, folder: Path, hq_keys: dict, db_url: str, *, kiosks: int = 2, hubs: int = 2, seed: int = 0):
        self.dir, self.keys, self.db_url = Path(folder), hq_keys, db_url
        self.rng = random.Random(seed)
        self.broker = Mosquitto(self.dir / "broker").start()
        self.proxy = Proxy(self.broker.port)
        self.ledgers: dict[str, Ledger] = {}
        self.cards: dict[str, list[str]] = {}
        for i in range(1, kiosks + 1):
            kid = f"k{i}"
            ledger = Ledger.create(self.dir / f"{kid}.db", kiosk_id=kid, store_id="s1")
            self.ledgers[kid] = ledger
            enrol(db_url, kid)
            self.cards[kid] = [f"{kid}-card-{n}" for n in range(3)]
            for n, card in enumerate(self.cards[kid]):
                ledger.register(name=f"Member {kid}{n}", phone=f"1380000{i}{n:03d}", card_id=card, operator="admin")
        self.hub_ids = [f"hq-{i}" for i in range(1, hubs + 1)]
        self.procs: dict[str, subprocess.Popen] = {}
        self.faults: Counter = Counter()
        for name in [*self.ledgers, *self.hub_ids]:
            self.start(name)

    # -- processes -----------------------------------------------------------------------------
    def _command(self, name: str) -> list[str]:
        url = f"mqtt://127.0.0.1:{self.proxy.port}"
        if name in self.ledgers:
            return [sys.executable, "-m", "sync.agent", "--db", str(self.dir / f"{name}.db"), "--kiosk-id", name,
                    "--store-id", "s1", "--hq-key", self.keys["public"], "--broker", url, "--timeout", "2"]
        return [sys.executable, "-m", "sync.hq", "run", "--db", self.db_url, "--broker", url,
                "--signing-key", self.keys["private"], "--hub-id", name]

    def start(self, name: str) -> None:
        with open(self.dir / f"{name}.log", "ab") as out:
            self.procs[name] = subprocess.Popen(self._command(name), cwd=REPO, stdout=out, stderr=out,
                                                env={**os.environ, "PYTHONUNBUFFERED": "1"})

    def kill(self, name: str) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait(10)

    def close(self) -> None:
        for name in list(self.procs):
            self.kill(name)
        self.proxy.close()
        self.broker.stop()
        for ledger in self.ledgers.values():
            ledger.close()

    # -- the run -------------------------------------------------------------------------------
    def produce(self, n: int) -> None:
        """What the counter UI would do: top-ups and stored-value purchases, committed locally."""
        for _ in range(n):
            kid = self.rng.choice(list(self.ledgers))
            card = self.rng.choice(self.cards[kid])
            try:
                if self.rng.random() < 0.3:
                    self.ledgers[kid].purchase(card, lines_from_amount(self.rng.randint(100, 3000)),
                                               operator="admin", pay="stored-value")
                else:
                    self.ledgers[kid].topup(card, self.rng.randint(1, 99999), operator="admin")
            except LedgerError:
                pass    # not enough stored value for that purchase: nothing was written

    def cycle(self) -> str:
        self.produce(self.rng.randint(3, 15))
        time.sleep(self.rng.uniform(0, 0.4))
        fault = self.rng.choice(FAULTS)
        if fault == "agent":
            victim = self.rng.choice(list(self.ledgers))
        elif fault == "hub":
            victim = self.rng.choice(self.hub_ids)
        if fault in ("agent", "hub"):
            self.kill(victim)
            self.produce(self.rng.randint(0, 5))
            time.sleep(self.rng.uniform(0, 0.3))
            self.start(victim)
        elif fault == "broker":
            self.broker.stop(self.rng.choice([signal.SIGKILL, signal.SIGTERM]))
            self.produce(self.rng.randint(0, 5))
            time.sleep(self.rng.uniform(0, 0.3))
            self.broker.start()
        else:
            self.proxy.cut()
        self.faults[fault] += 1
        return fault

    def settle(self, timeout: float = 120.0) -> bool:
        """Wait until every kiosk's outbox is confirmed by head office."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(ledger.outbox_backlog() == 0 for ledger in self.ledgers.values()):
                return True
            for name, proc in self.procs.items():
                if proc.poll() is not None:     # a crashed service is a failure to report, not to hide
                    raise AssertionError(f"{name} exited with {proc.returncode}: see {self.dir / (name + '.log')}")
            time.sleep(0.2)
        return False

    # -- the checker ---------------------------------------------------------------------------
    def classify(self) -> Counter:
        return classify(self.db_url, self.ledgers)


def classify(db_url: str, ledgers: dict[str, Ledger]) -> Counter:
    """Every kiosk transaction: applied once, lost, or applied twice (by journal and by balance)."""
    db = Db(db_url)
    try:
        result: Counter = Counter()
        expected: dict[str, int] = defaultdict(int)
        for kid, ledger in ledgers.items():
            own = ledger.conn.execute("SELECT tx_id, record FROM journal WHERE kiosk_id = ?", (kid,))
            for tx_id, record in own:
                n = db.conn.execute("SELECT COUNT(*) FROM journal WHERE tx_id = ?", (tx_id,)).fetchone()[0]
                result[{0: "lost", 1: "once"}.get(n, "twice")] += 1
                for e in json.loads(record)["effects"]:
                    if e["op"] == "sv":
                        expected[e["member_id"]] += e["principal"] + e["bonus"]
        have = dict(db.conn.execute("SELECT member_id, principal_fen + bonus_fen FROM members").fetchall())
        for member, want in expected.items():
            if have.get(member, 0) > want:
                result["twice"] += 1        # more money than the kiosks' journals put there
            elif have.get(member, 0) < want:
                result["lost"] += 1
        result["inconsistent"] = len(projection_differences(db))
        return result
    finally:
        db.close()


def numbered(db: Db, timeout: float = 10.0) -> None:
    """Wait until every logged row has its feed position: hubs number rows once a second (feedlog.py),
    so right after the last confirmation some may have none yet, and feed order is not known for them."""
    deadline = time.monotonic() + timeout
    while db.conn.execute("SELECT 1 FROM hq_log WHERE hq_seq IS NULL LIMIT 1").fetchone():
        if time.monotonic() > deadline:
            raise AssertionError(f"feed rows still without a position after {timeout} s")
        feedlog.sequence(db)
        time.sleep(0.05)


def projection_differences(db: Db) -> list[str]:
    """Head office's projections against a replay of its journal in feed order (any dialect)."""
    numbered(db)
    records = [json.loads(r) for (r,) in db.conn.execute(
        "SELECT j.record FROM hq_log l JOIN journal j ON j.tx_id = l.tx_id ORDER BY l.hq_seq").fetchall()]
    fresh = replay(records)
    return [table for table in PROJECTIONS
            if sorted(map(tuple, db.conn.execute(f"SELECT * FROM {table}").fetchall()), key=repr)
            != sorted(fresh.execute(f"SELECT * FROM {table}").fetchall(), key=repr)]
