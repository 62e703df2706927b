"""A process connects under its certificate's identity: the shipped broker names each client by the
certificate's CN, so a hub started as ``--hub-id hq-2`` with hq-1's certificate would take hq-1's
place and knock it off. It is refused at start with one plain line instead."""
from __future__ import annotations

import subprocess
import sys

import pytest

from sync.mqtt import Broker, make_client

from .pki import CA


def test_a_certificate_for_another_identity_is_refused_before_connecting(tmp_path):
    files = CA(tmp_path).issue("hq-1")
    broker = Broker("mqtts://127.0.0.1:8884", files["ca"], files["cert"], files["key"])
    assert make_client(broker, "hq-1")._client_id == b"hq-1"
    with pytest.raises(ValueError, match="is for 'hq-1', not 'hq-2'"):
        make_client(broker, "hq-2")


def test_the_hub_names_the_mismatch_on_one_line(tmp_path):
    files = CA(tmp_path).issue("hq-1")
    key = tmp_path / "signing"
    subprocess.run([sys.executable, "-m", "sync.hq", "keygen", "--out", str(key)], check=True, capture_output=True)
    run = subprocess.run([sys.executable, "-m", "sync.hq", "run", "--db", f"sqlite:///{tmp_path / 'hq.db'}",
                          "--broker", "mqtts://127.0.0.1:8884", "--ca", files["ca"], "--cert", files["cert"],
                          "--key", files["key"], "--signing-key", str(key / "hq-signing.pem"), "--hub-id", "hq-2"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1 and "is for 'hq-1', not 'hq-2'" in run.stderr, run.stderr
