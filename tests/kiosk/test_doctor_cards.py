"""`kioskctl doctor --wait-card` checks a tap as the app would and says what it means."""
import json
import os
import subprocess
import sys

from drivers.cards import make_sun_message
from kiosk import config

MASTER = bytes(range(16))
UID = bytes.fromhex("04A1B2C3D4E5F6")


def env():
    """This process's environment (the pinned clock included) without the config variables (KIOSK_ID...)."""
    return {k: v for k, v in os.environ.items() if k not in config.ENVIRONMENT}
AT = "2026-11-02T10:00"


def kioskctl(tmp_path, *args, cards="accept_sun = true\nsun_master_key = \"%s\"\naccept_token = false\n" % MASTER.hex(),
             nfc=None):
    config_file = tmp_path / "kiosk.toml"
    devices = f'[devices]\nnfc = ["{nfc}"]\nscanners = []\n' if nfc else ""
    config_file.write_text(f"[cards]\n{cards}\n{devices}")
    return subprocess.run([sys.executable, "-m", "kiosk.cli", "--config", str(config_file), "--db", str(tmp_path / "l.db"),
                           *args], capture_output=True, text=True, env=env())


def tap(tmp_path, ndef: bytes) -> dict:
    proc = kioskctl(tmp_path, "doctor", "--wait-card", "--timeout", "5", "--json",
                    nfc=f"sim:reader?card={UID.hex()}&ndef={ndef.hex()}")
    out = json.loads(proc.stdout)
    assert proc.returncode == (0 if out["ok"] else 1)
    return out


def test_doctor_says_what_a_tap_means(tmp_path):
    kioskctl(tmp_path, "init")
    kioskctl(tmp_path, "member", "add", "--name", "A", "--phone", "13800138000", "--card", UID.hex().upper(),
             "--at", AT)
    first = tap(tmp_path, make_sun_message(MASTER, UID, 7))
    assert first["ok"] and first["devices"][0]["card"]["meaning"] == "member card ok"
    copied = tap(tmp_path, make_sun_message(MASTER, UID, 7))         # the same counter again: a copy
    assert not copied["ok"] and copied["devices"][0]["card"]["meaning"] == "copied"
    forged = make_sun_message(bytes(16), UID, 8)                     # made with another key
    assert tap(tmp_path, forged)["devices"][0]["card"]["meaning"] == "forged"
    kioskctl(tmp_path, "member", "lost", "--card", UID.hex().upper(), "--at", AT)
    blocked = tap(tmp_path, make_sun_message(MASTER, UID, 9))
    assert not blocked["ok"] and blocked["devices"][0]["card"]["meaning"] == "blocked"
    other = tap(tmp_path, make_sun_message(MASTER, bytes.fromhex("04000000000001"), 1))
    assert other["devices"][0]["card"]["meaning"] == "unknown"


def test_token_cards_without_a_public_key_are_a_configuration_error(tmp_path):
    proc = kioskctl(tmp_path, "doctor", cards="accept_token = true\n", nfc="sim:reader")
    assert proc.returncode == 1 and "all ok" not in proc.stdout
    assert "token_public_key" in proc.stdout and "problems found" in proc.stdout


def test_doctor_names_another_stores_member_by_their_version_2_token(tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from drivers.tokens import make_member_token
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    kioskctl(tmp_path, "init")
    cards = f'accept_token = true\ntoken_public_key = "{public}"\n'
    proc = kioskctl(tmp_path, "doctor", "--wait-card", "--timeout", "5", "--json", cards=cards,
                    nfc=f"sim:reader?card={UID.hex()}&ndef={make_member_token(key, 'C-9', 1, UID, 'M9').hex()}")
    card = json.loads(proc.stdout)["devices"][0]["card"]
    assert (card["meaning"], card["ok"]) == ("another store's member", True) and "M9" in card["why"]
