"""`make demo`: a cashier's story on the ledger, then the app; progress as it goes, and what to try next."""
import io
import json
import os
import subprocess
import sys

from kiosk import demo_data
from kiosk.demo import run_ledger_demo


def test_demo_replays_the_reference_scenario(tmp_path):
    out = io.StringIO()
    led = run_ledger_demo(tmp_path, out)
    text = out.getvalue()
    led.close()
    assert "pays 128.50, earns 128 points" in text
    assert "tier is now normal" in text
    assert "costs 190.00 (5% off), earns 190" in text
    assert "the lost card is refused at once" in text
    assert text.strip().endswith("balances equal the journal")
    assert demo_data.ZHANG_NAME in text and demo_data.ALICE_NAME in text     # the people the app shows too


def test_demo_prints_as_it_goes_when_piped_and_says_what_to_try_next(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    proc = subprocess.Popen([sys.executable, "-m", "kiosk.demo", "--var", str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        lines = []
        while not (line := proc.stdout.readline()).startswith("No display"):
            assert line, "the demo ended without starting the app"
            lines.append(line)
        assert not list(tmp_path.glob("demo/*.png"))      # the story arrived before the app's walk-through ran
        assert any("balances equal the journal" in line for line in lines)
    finally:
        proc.kill()
        proc.wait()
    proc = subprocess.run([sys.executable, "-m", "kiosk.demo", "--var", str(tmp_path), "--ledger-only"],
                          capture_output=True, text=True)
    assert "Try next" in proc.stdout
    hint = f"--db {tmp_path / 'demo-ledger.db'} --operator cashier01 show --card DEMO-0003"
    assert hint in proc.stdout and "PIN 1234" in proc.stdout
    shown = subprocess.run([sys.executable, "-m", "kiosk.cli", *hint.split(), "--pin-stdin", "--json"],
                           capture_output=True, text=True, input="1234\n")
    assert shown.returncode == 0 and json.loads(shown.stdout)["card_id"] == "DEMO-0003", shown.stderr
