"""kiosk-sync reads the kiosk's layered configuration; a bad one stops it with a clear line."""
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "sync.agent", *args], capture_output=True, text=True, timeout=60)


def test_bad_config_names_the_key(tmp_path):
    bad = tmp_path / "kiosk.toml"
    bad.write_text('[sync]\nbrokr = "mqtt://127.0.0.1:1"\n')
    proc = run("--config", str(bad))
    assert proc.returncode == 2 and "brokr" in proc.stderr and str(bad) in proc.stderr


def test_missing_head_office_key_is_explained(tmp_path):
    cfg = tmp_path / "kiosk.toml"
    cfg.write_text(f'[kiosk]\ndb = "{tmp_path}/ledger.db"\n')
    proc = run("--config", str(cfg))
    assert proc.returncode == 2 and "hq_public_key" in proc.stderr
