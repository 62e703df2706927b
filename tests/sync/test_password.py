"""``[sync] password``: a development broker with a password file instead of client certificates
(user name = client id), against a real Mosquitto; a wrong password confirms nothing."""
import subprocess
import sys

import pytest

from .conftest import confirmed_all, wait_for
from .mosquitto import Mosquitto


@pytest.fixture
def password_broker(tmp_path):
    mosq = Mosquitto(tmp_path / "pw-broker")
    passwords = mosq.dir / "passwords"
    for user, secret in (("k1", "kiosk-secret"), ("hq-1", "hub-secret")):
        subprocess.run(["mosquitto_passwd", "-b", *(["-c"] if user == "k1" else []), str(passwords), user, secret],
                       check=True, capture_output=True)
    mosq.conf.write_text(mosq.conf.read_text().replace("allow_anonymous true",
                                                       f"allow_anonymous false\npassword_file {passwords}"))
    yield mosq.start()
    mosq.stop()


def test_agent_and_hub_sync_with_passwords_and_a_wrong_one_is_refused(password_broker, start_hub, make_kiosk,
                                                                       start_agent):
    start_hub(password_broker.url, tls={"password": "hub-secret"})
    good, bad = make_kiosk("k1"), make_kiosk("k2")
    for k in (good, bad):
        k.register(name="Sun Quan", phone="13800006666", card_id=f"C-{k.kiosk_id}", operator="admin")
    start_agent(good, password_broker.url, tls={"password": "kiosk-secret"})
    refused = start_agent(bad, password_broker.url, tls={"password": "kiosk-secret"})    # k2 has no such password
    wait_for(lambda: confirmed_all(good), what="the kiosk with its password confirmed")
    wait_for(lambda: "not authorised" in password_broker.log(), what="the broker refusing k2")
    assert not refused.client.is_connected() and not confirmed_all(bad)


def test_kiosk_sync_refuses_a_password_file_it_cannot_read(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sync.agent", "--db", str(tmp_path / "x.db"), "--kiosk-id", "k1",
                           "--store-id", "s1", "--hq-key", str(tmp_path / "hq.pub"), "--broker", "mqtt://127.0.0.1:1",
                           "--password-file", str(tmp_path / "missing")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "--password-file" in proc.stderr and "Traceback" not in proc.stderr
