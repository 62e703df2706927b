"""Every screen at every supported size, turned or not, in both languages: no text spills out
of its box or is cut short, every button is big enough for a finger, and no English is left in
the Chinese UI."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from kiosk.ui.catalog import catalogue
from kiosk.ui.tour import STOPS, tour

UI = Path(__file__).parents[2] / "kiosk" / "ui"


@pytest.mark.parametrize("lang, size, rotation", [("zh_CN", "800x480", 0), ("en", "800x480", 0),
                                                   ("zh_CN", "1280x800", 0), ("en", "800x480", 90)])
def test_every_screen_fits(start, tmp_path, lang, size, rotation):
    kiosk = start("--language", lang, "--size", size, "--rotation", str(rotation))
    seen = tour(kiosk)
    assert [s["stop"] for s in seen] == [stop.name for stop in STOPS]
    width, height = map(int, size.split("x"))
    for state in seen:
        assert state["size"] == ([width, height] if rotation in (0, 180) else [height, width])
        assert state["overflow"] == [], f"text spills out on {state['stop']}"
        assert state["shortened"] == [], f"text cut short on {state['stop']}"
        assert state["small_targets"] == [], f"targets under 48 px on {state['stop']}"
    screens = {s["stop"]: s["screen"] for s in seen}     # the presses reached every screen
    assert {screens[n] for n in ("member", "gifts", "pin", "staff", "purchase", "topup", "refund", "packages",
                                 "card", "register", "summary")} == {
        "member", "gifts", "pin", "staff", "purchase", "topup", "refund", "packages", "card", "register", "summary"}


def _msgids() -> set[str]:
    pattern = re.compile(r'''\bN?_\(\s*("(?:[^"\\\\]|\\\\.)*"|'(?:[^'\\\\]|\\\\.)*')\s*\)''')
    return {ast.literal_eval(m.group(1)) for path in [*UI.rglob("*.py"), *UI.rglob("*.kv")]
            for m in pattern.finditer(path.read_text(encoding="utf-8"))}


def test_every_text_has_a_chinese_translation():
    ids = _msgids()
    assert len(ids) > 150
    missing = sorted(i for i in ids if i not in catalogue("zh_CN"))
    assert missing == []
