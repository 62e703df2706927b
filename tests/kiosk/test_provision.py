"""kioskctl provision onto real FAT images (mkfs.fat + mtools, never mounted) and kiosk-firstboot."""
import datetime
import json
import os
import pwd
import sqlite3
import struct
import subprocess
import tomllib

import pytest
from cryptography import x509

from kiosk import cli, firstboot
from tests.sync.pki import CA

pytestmark = pytest.mark.skipif(subprocess.run(["which", "mkfs.fat", "mcopy"], capture_output=True).returncode,
                                reason="needs dosfstools and mtools")
MTOOLS = {**os.environ, "MTOOLS_SKIP_CHECK": "1"}


@pytest.fixture
def pki(tmp_path):
    ca = CA(tmp_path / "pki")
    files = ca.issue("kiosk-07")
    cert = x509.load_pem_x509_certificate(open(files["cert"], "rb").read())
    files["valid_at"] = (cert.not_valid_before_utc + datetime.timedelta(hours=1)).isoformat()
    files["expired_at"] = (cert.not_valid_after_utc + datetime.timedelta(days=1)).isoformat()
    files["other"] = ca.issue("kiosk-08")
    files["ui"] = ca.issue("kiosk-07.ui")
    files["ctl"] = ca.issue("kiosk-07.ctl")
    files["foreign"] = CA(tmp_path / "other-pki", "Someone Else's CA").issue("kiosk-07")
    return files


@pytest.fixture
def image(tmp_path):
    """A sparse disk image: an MBR with one 64 MiB FAT32 (LBA) partition from sector 2048, like an SD card's boot."""
    path = tmp_path / "sd.img"
    start, sectors = 2048, 64 * 2048
    with open(path, "wb") as f:
        f.truncate((start + sectors + 2048) * 512)
        entry = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x0C, b"\0\0\0", start, sectors)
        f.seek(446)
        f.write(entry)
        f.seek(510)
        f.write(b"\x55\xaa")
    subprocess.run(["mkfs.fat", "-F", "32", "-s", "1", "--offset", str(start), str(path), str(sectors // 2)], check=True,
                   capture_output=True)
    return path


def provision(capsys, pki, *target, kiosk="kiosk-07", cert=None, key=None, at=None, extra=()):
    capsys.readouterr()
    status = cli.main(["--json", "provision", *target, "--store", "store-03", "--kiosk", kiosk,
                       "--broker", "mqtts://broker.example.cn:8883", "--ca", pki["ca"], "--cert", cert or pki["cert"],
                       "--key", key or pki["key"], "--at", at or pki["valid_at"], *extra])
    return status, json.loads(capsys.readouterr().out)


def fat_read(image, path):
    proc = subprocess.run(["mtype", "-i", f"{image}@@{2048 * 512}", path], capture_output=True, env=MTOOLS)
    return proc.stdout if proc.returncode == 0 else None


def fat_listing(image):
    return subprocess.run(["mdir", "-b", "-i", f"{image}@@{2048 * 512}", "-/", "::/"], capture_output=True, text=True,
                          env=MTOOLS).stdout


def test_provision_writes_config_and_credentials_into_the_fat_partition(capsys, pki, image):
    token_key = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
    status, result = provision(capsys, pki, "--image", str(image),
                               extra=("--wifi-ssid", "Store 3", "--wifi-psk", "counter-wifi-1",
                                      "--token-public-key", f"{token_key[:32].upper()}\n{token_key[32:]}"))
    assert status == 0, result
    config = fat_read(image, "::/kiosk/kiosk.toml").decode()
    assert tomllib.loads(config)["cards"]["token_public_key"] == token_key
    assert 'id = "kiosk-07"' in config and 'store_id = "store-03"' in config and "mqtts://broker.example.cn:8883" in config
    assert fat_read(image, "::/kiosk/kiosk.key") == open(pki["key"], "rb").read()
    assert b'ssid="Store 3"' in fat_read(image, "::/kiosk/wifi.conf")
    assert "partial" not in fat_listing(image)


@pytest.mark.parametrize("case, code, status", [
    ("kiosk id with a slash", "bad_id", 2),
    ("certificate of another kiosk", "wrong_identity", 3),
    ("key of another kiosk", "key_mismatch", 3),
    ("another CA's certificate", "wrong_ca", 3),
    ("expired", "expired", 3),
    ("plain mqtt broker", "bad_broker", 2),
    ("short wifi passphrase", "bad_wifi", 2),
    ("token key too short", "bad_token_key", 2),
    ("the agent's certificate as the UI's", "wrong_identity", 3),
    ("a UI certificate without its key", "bad_credentials", 2),
    ("the UI's certificate as kioskctl's", "wrong_identity", 3),
])
def test_provision_validates_everything_before_writing_anything(capsys, pki, image, case, code, status):
    before = image.read_bytes()
    kw = {"kiosk id with a slash": dict(kiosk="kiosk/07"),
          "certificate of another kiosk": dict(cert=pki["other"]["cert"], key=pki["other"]["key"]),
          "key of another kiosk": dict(key=pki["other"]["key"]),
          "another CA's certificate": dict(cert=pki["foreign"]["cert"], key=pki["foreign"]["key"]),
          "expired": dict(at=pki["expired_at"]),
          "plain mqtt broker": dict(extra=("--broker", "mqtt://broker.example.cn:1883")),
          "short wifi passphrase": dict(extra=("--wifi-ssid", "Store 3", "--wifi-psk", "short")),
          "token key too short": dict(extra=("--token-public-key", "3d4017c3e843895a")),
          "the agent's certificate as the UI's": dict(extra=("--ui-cert", pki["cert"], "--ui-key", pki["key"])),
          "a UI certificate without its key": dict(extra=("--ui-cert", pki["ui"]["cert"])),
          "the UI's certificate as kioskctl's": dict(extra=("--ctl-cert", pki["ui"]["cert"], "--ctl-key",
                                                           pki["ui"]["key"])),
          }[case]
    got_status, error = provision(capsys, pki, "--image", str(image), **kw)
    assert (got_status, error["code"]) == (status, code) and error["error"]
    assert image.read_bytes() == before


def test_firstboot_installs_wipes_initialises_and_never_runs_twice(capsys, pki, tmp_path):
    boot, etc, state = tmp_path / "boot", tmp_path / "etc", tmp_path / "state"
    boot.mkdir()
    (boot / "config.txt").write_text("arm_64bit=1\n")
    assert provision(capsys, pki, "--boot", str(boot), extra=("--wifi-ssid", "Store 3", "--wifi-psk", "counter-wifi-1",
                                                              "--ui-cert", pki["ui"]["cert"], "--ui-key", pki["ui"]["key"],
                                                              "--ctl-cert", pki["ctl"]["cert"],
                                                              "--ctl-key", pki["ctl"]["key"]))[0] == 0
    me = pwd.getpwuid(os.getuid()).pw_name
    wifi_conf = tmp_path / "data/etc/wpa_supplicant/wpa_supplicant-wlan0.conf"   # the image's: not made yet
    argv = ["--boot", str(boot), "--etc", str(etc), "--state", str(state), "--user", me,
            "--wifi-conf", str(wifi_conf)]
    assert firstboot.main(argv) == 0

    assert sorted(p.name for p in boot.iterdir()) == ["config.txt"]        # every secret gone from FAT
    for name in ("kiosk.toml", "kiosk.key", "kiosk.pem", "ca.pem", "kiosk-ui.pem", "kiosk-ui.key", "kiosk-ctl.pem",
                 "kiosk-ctl.key"):
        assert (etc / name).stat().st_mode & 0o777 == 0o600
    assert (etc / "kiosk.key").read_bytes() == open(pki["key"], "rb").read()
    assert (etc / "kiosk-ui.key").read_bytes() == open(pki["ui"]["key"], "rb").read()
    assert 'ui_cert = "/etc/kiosk/kiosk-ui.pem"' in (etc / "kiosk.toml").read_text()
    assert 'ctl_key = "/etc/kiosk/kiosk-ctl.key"' in (etc / "kiosk.toml").read_text()
    assert b'psk="counter-wifi-1"' in wifi_conf.read_bytes() and wifi_conf.stat().st_mode & 0o777 == 0o600
    conn = sqlite3.connect(state / "ledger.db")
    assert conn.execute("SELECT DISTINCT kiosk_id FROM journal").fetchall() == [("kiosk-07",)]
    ledger_before = (state / "ledger.db").read_bytes()

    assert provision(capsys, pki, "--boot", str(boot))[0] == 0                # provisioned again by mistake
    assert firstboot.main(argv) == 0                                          # ...and still nothing happens
    assert (boot / "kiosk").is_dir() and (state / "ledger.db").read_bytes() == ledger_before


@pytest.mark.skipif(os.getuid() != 0, reason="firstboot hands files to another user: needs root")
def test_firstboot_hands_the_ledger_and_its_key_file_to_the_services_user(capsys, pki, tmp_path):
    """kiosk-sync runs as that user: a key file left to root stopped it at every start (seen booting the image)."""
    boot, state = tmp_path / "boot", tmp_path / "state"
    boot.mkdir()
    assert provision(capsys, pki, "--boot", str(boot))[0] == 0
    assert firstboot.main(["--boot", str(boot), "--etc", str(tmp_path / "etc"), "--state", str(state),
                           "--user", "nobody", "--wifi-conf", str(tmp_path / "wifi.conf")]) == 0
    nobody = pwd.getpwnam("nobody").pw_uid
    assert {p.name: p.stat().st_uid for p in state.iterdir() if p.name.startswith("ledger")} == \
        {"ledger.db": nobody, "ledger.db.key": nobody}


def test_firstboot_without_provisioning_fails_and_leaves_no_marker(tmp_path):
    me = pwd.getpwuid(os.getuid()).pw_name
    (tmp_path / "boot").mkdir()
    assert firstboot.main(["--boot", str(tmp_path / "boot"), "--etc", str(tmp_path / "etc"),
                           "--state", str(tmp_path / "state"), "--user", me]) == 1
    assert not (tmp_path / "state" / firstboot.MARKER).exists()
