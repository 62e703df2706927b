"""The load tool's short storm (``make bench-hq-ingest`` runs 1,000 x 100): 20 simulated kiosks
reconnect at once with 10 unsent transactions each, against Mosquitto's default queue limits and two
hub processes, one killed -9 mid-drain; the fault tests' checker finds nothing lost or applied twice."""
import os
import signal
import subprocess
import sys

import pytest

from kiosk.ledger import pii
from sync.loadtool import Swarm
from sync.mqtt import Broker

from .faults import REPO, classify


def hub(tmp_path, name: str, db_url: str, broker_url: str, key: str) -> subprocess.Popen:
    out = open(tmp_path / f"{name}.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "sync.hq", "run", "--db", db_url, "--broker", broker_url,
                             "--signing-key", key, "--hub-id", name], cwd=REPO, stdout=out, stderr=out,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.slow
def test_kiosks_reconnecting_at_once_drain_with_a_hub_killed(tmp_path, broker, hq_keys, chain_key_file):
    db_url = f"sqlite:///{tmp_path / 'hq.db'}"
    hubs = {name: hub(tmp_path, name, db_url, broker.url, hq_keys["private"]) for name in ("hq-1", "hq-2")}
    swarm = Swarm(tmp_path / "kiosks", kiosks=20, per_kiosk=10, pii_key=pii.load_or_make(chain_key_file))
    total = swarm.fill()
    swarm.enrol(db_url)
    killed = []

    def kill_mid_drain(left: int) -> None:
        if not killed and 0 < left < total:
            hubs["hq-1"].send_signal(signal.SIGKILL)
            hubs["hq-1"].wait(10)
            killed.append(left)
            hubs["hq-1"] = hub(tmp_path, "hq-1", db_url, broker.url, hq_keys["private"])
    try:
        swarm.connect(Broker(broker.url), hq_keys["public"], timeout=1.0)
        swarm.drain(timeout=120, during=kill_mid_drain, every=0.05)     # often: a small drain is quick
        result = classify(db_url, swarm.ledgers())
    finally:
        swarm.close()
        for proc in hubs.values():
            proc.terminate()
            proc.wait(15)
    assert killed, "the hub was not killed mid-drain"
    assert result["once"] == total
    assert result["lost"] == 0 and result["twice"] == 0 and result["inconsistent"] == 0
