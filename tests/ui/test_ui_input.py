"""One touch path only: a touchscreen seen through two providers (or as a mouse too) taps twice."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, sys
from pathlib import Path
from kiosk.ui import kivy_env
kivy_env.prepare(home=Path(sys.argv[1]), size="800x480", rotation=0, fullscreen=False, touch=sys.argv[2])
from kivy.config import Config
print(json.dumps(dict(Config.items("input"))))
"""


def kivy_inputs(tmp_path, touch: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "kivy"), touch], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.splitlines()[-1])


def test_a_configured_touchscreen_is_the_only_input(tmp_path):
    assert kivy_inputs(tmp_path, "mtdev:/dev/input/event0") == {"touch": "mtdev,/dev/input/event0"}
    assert kivy_inputs(tmp_path, "hidinput:/dev/input/event3,rotation=90") == {
        "touch": "hidinput,/dev/input/event3,rotation=90"}


def test_without_a_touchscreen_the_mouse_does_not_emulate_multitouch(tmp_path):
    assert kivy_inputs(tmp_path, "") == {"mouse": "mouse,disable_multitouch"}


def test_a_misspelt_touch_setting_is_refused_with_its_name():
    from kiosk.ui.kivy_env import touch_provider
    with pytest.raises(ValueError, match=r"\[ui\] touch = 'mtdv:/dev/input/event0'"):
        touch_provider("mtdv:/dev/input/event0")
