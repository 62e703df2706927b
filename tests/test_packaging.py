"""`pip install` builds the package quietly and ships every data file the code reads."""
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_wheel_builds_without_setuptools_banners_and_carries_the_data_files(tmp_path):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, symlinks=True,      # image/rootfs links point into the image's own root
                    ignore=shutil.ignore_patterns(".venv", "var", ".git", "__pycache__", "*.egg-info", "build", "tests",
                                                  "bench", "docs"))
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"),
                           str(source)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "would be ignored" not in proc.stdout + proc.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for wanted in ("kiosk/ui/locale/zh_CN/LC_MESSAGES/kiosk.po", "kiosk/ui/screens/staff.kv",
                   "kiosk/ledger/reference_rules.toml", "sync/schemas/envelope.json"):
        assert wanted in names
    assert not any("__pycache__" in name or name.startswith("tests/") for name in names)
