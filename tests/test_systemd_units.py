"""The unit files pass the real `systemd-analyze verify`, and each service notifies systemd."""
import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = sorted((Path(__file__).parents[1] / "systemd").glob("*.service"))
BIN = Path(sys.executable).parent


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_unit_verifies(unit, tmp_path):
    """Verified with ExecStart pointing at this checkout's console scripts (they exist here)."""
    text = re.sub(r"/usr/bin/(kiosk[-a-z]*)", lambda m: str(BIN / m.group(1)), unit.read_text())
    copy = tmp_path / unit.name
    copy.write_text(text)
    proc = subprocess.run(["systemd-analyze", "verify", "--man=no", str(copy)], capture_output=True, text=True)
    problems = [line for line in proc.stderr.splitlines() if unit.name in line]
    assert proc.returncode == 0 and not problems, proc.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_service_is_notify_with_watchdog_and_restart(unit):
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(unit.read_text())
    service = parser["Service"]
    assert service["Type"] == "notify" and int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "always" and service["User"] != "root"
    assert (BIN / service["ExecStart"].split()[0].rsplit("/", 1)[1]).exists()
