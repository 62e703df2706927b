"""The services as systemd runs them: READY=1 once up, WATCHDOG=1 pings, clean stop on SIGTERM."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.ledger import Ledger

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", ["agent", "hub"])
def test_service_notifies_systemd_ready_and_watchdog(tmp_path, broker, hq_keys, service):
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(20)
    if service == "agent":
        Ledger.create(tmp_path / "k1.db", kiosk_id="k1", store_id="s1").close()
        command = [sys.executable, "-m", "sync.agent", "--db", str(tmp_path / "k1.db"), "--kiosk-id", "k1",
                   "--store-id", "s1", "--hq-key", hq_keys["public"], "--broker", broker.url]
    else:
        command = [sys.executable, "-m", "sync.hq", "run", "--db", f"sqlite:///{tmp_path / 'hq.db'}",
                   "--broker", broker.url, "--signing-key", hq_keys["private"]]
    env = {**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "200000"}
    proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        got = [notify.recv(4096).decode() for _ in range(3)]
        assert got[0].startswith("READY=1")
        assert got[1:] == ["WATCHDOG=1", "WATCHDOG=1"]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        notify.close()
