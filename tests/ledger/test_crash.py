"""kill -9 a process mid-transaction, many times: the file must stay whole and consistent.

Every transaction the child reported as committed must be in the journal (a commit that
returned is durable), and journal, balances and outbox must agree after every kill.
"""
import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from kiosk.ledger import Ledger, verify

CHILD = Path(__file__).with_name("crash_child.py")
CYCLES = 12


def test_kill_9_at_random_moments_leaves_all_or_nothing(tmp_path):
    db = tmp_path / "crash.db"
    rng = random.Random(20261123)
    reported: set[str] = set()
    for cycle in range(CYCLES):
        child = subprocess.Popen([sys.executable, str(CHILD), str(db), str(cycle)], stdout=subprocess.PIPE,
                                 text=True, cwd=Path(__file__).parents[2])
        first = child.stdout.readline()           # wait until it is committing
        assert first, "child died before committing anything"
        time.sleep(rng.uniform(0.0, 0.3))
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate()
        reported |= {line for line in (first + out).split() if line}

        led = Ledger(db, kiosk_id="k1", store_id="s1")
        try:
            assert led.conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert verify(led.conn) == [], f"cycle {cycle}"
            journaled = {r for (r,) in led.conn.execute("SELECT tx_id FROM journal")}
            assert reported <= journaled, f"cycle {cycle}: committed transactions lost"
            outbox = {r for (r,) in led.conn.execute("SELECT tx_id FROM outbox")}
            own = {r for (r,) in led.conn.execute("SELECT tx_id FROM journal WHERE kiosk_id = 'k1'")}
            assert outbox == own, "every transaction has exactly its outbox row"
            effects = [json.loads(r) for (r,) in led.conn.execute("SELECT record FROM journal")]
            assert all(rec["effects"] for rec in effects)
        finally:
            led.close()
    assert len(reported) > CYCLES, "the child should have committed transactions between kills"
