"""`kioskctl doctor` connects to the broker as the agent does (TLS, the kiosk's own certificate)."""
import json
import subprocess
import sys
from datetime import datetime

import pytest
from cryptography import x509

from kiosk.ctl.broker_check import WARN_DAYS
from kiosk.ledger.clock import from_env

from tests.sync.mosquitto import Mosquitto
from tests.sync.pki import CA
from test_doctor_cards import env


@pytest.fixture(scope="module")
def tls_broker(tmp_path_factory):
    folder = tmp_path_factory.mktemp("doctor-broker")
    ca = CA(folder / "pki")
    broker = Mosquitto.shipped(folder / "broker", ca.issue("localhost", server=True), ca.hq_path, ca.crl).start()
    yield broker, {kiosk: ca.issue(kiosk) for kiosk in ("k0101", "k0202")}
    broker.stop()


def doctor(tmp_path, broker: str, files: dict, kiosk_id: str = "k0101") -> tuple[int, dict]:
    config = tmp_path / "kiosk.toml"
    sync = "".join(f'{key} = "{value}"\n' for key, value in files.items())
    config.write_text(f'[kiosk]\nid = "{kiosk_id}"\n[cards]\naccept_uid = true\naccept_token = false\n'
                      f'[devices]\nnfc = []\nscanners = []\n[sync]\nbroker = "{broker}"\n{sync}')
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(config), "--db", str(tmp_path / "l.db"),
                           "doctor", "--json"], capture_output=True, text=True, env=env())
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)["broker"]


def days_left(cert_file: str) -> int:
    expires = x509.load_pem_x509_certificate(open(cert_file, "rb").read()).not_valid_after_utc
    return (expires - from_env().now()).days           # the kiosk's clock, pinned for the suite


def test_the_handshake_with_the_kiosks_certificate_and_both_expiries(tmp_path, tls_broker):
    broker, issued = tls_broker
    files = issued["k0101"]
    status, report = doctor(tmp_path, broker.url.replace("127.0.0.1", "localhost"), files)
    assert report["certificate"]["subject"] == "k0101" and report["broker_certificate"]["subject"] == "localhost"
    assert report["certificate"]["days_left"] == days_left(files["cert"])
    assert report["errors"] == []
    soon = days_left(files["cert"]) < WARN_DAYS          # the test PKI's certificates live a day
    assert report["state"] == ("warning" if soon else "ok") and status == 0
    assert any("this kiosk's certificate expires in" in w for w in report["warnings"]) == soon


@pytest.mark.parametrize("problem", ["another kiosk's certificate", "a certificate from another CA",
                                     "a CA that did not sign the broker", "nothing listening"])
def test_what_would_stop_the_agent_is_an_error(tmp_path, tls_broker, problem):
    broker, issued = tls_broker
    url, files, expected = broker.url.replace("127.0.0.1", "localhost"), issued["k0101"], "TLS handshake"
    if problem == "another kiosk's certificate":
        files, expected = issued["k0202"], "names 'k0202', not the kiosk id 'k0101'"
    elif problem == "a certificate from another CA":
        files = {**CA(tmp_path / "rogue").issue("k0101"), "ca": files["ca"]}
        expected = "does the broker trust this kiosk's certificate?"
    elif problem == "a CA that did not sign the broker":
        files = {**files, "ca": CA(tmp_path / "other").path}
        expected = "does not verify against [sync] ca"
    else:
        url, expected = "mqtts://localhost:1", "cannot reach the broker"
    status, report = doctor(tmp_path, url, files)
    assert status == 1 and report["state"] == "error"
    assert any(expected in e for e in report["errors"]), report["errors"]


def test_a_development_broker_is_skipped(tmp_path):
    status, report = doctor(tmp_path, "mqtt://127.0.0.1:1883", {})
    assert report["state"] == "skipped" and status == 0
