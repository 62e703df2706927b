"""Kivy's process-wide settings, applied before Kivy is first imported.

Kivy reads its environment and its config file at import time, so the entry point calls
:func:`prepare` before anything imports ``kivy``. Everything here is about the one window
and the one touch input: a touchscreen that is also seen as a mouse (SDL) or through two
providers (mtdev and hidinput) would deliver every tap twice.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

PROVIDERS = ("mtdev", "hidinput", "linuxwacom", "tuio")


class OptionalProviders(logging.Filter):
    """Kivy reports the optional providers it could not load (mtdev, X cut buffers) as errors at
    every start; on a kiosk that does not use them they are noise in the journal, so they are kept
    only when debugging."""

    NOISE = ("Input: MTDev is not supported", "Cutbuffer: Unable to find any valuable")

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.NOISE) or logging.getLogger().isEnabledFor(logging.DEBUG)


def touch_provider(spec: str) -> str:
    """``mtdev:/dev/input/event0`` -> Kivy's ``mtdev,/dev/input/event0`` ([input] section syntax).

    Provider parameters follow after commas, e.g. ``hidinput:/dev/input/event0,rotation=90``.
    """
    provider, sep, rest = spec.partition(":")
    if not sep or provider not in PROVIDERS or not rest:
        raise ValueError(f"[ui] touch = {spec!r}: expected PROVIDER:DEVICE with PROVIDER one of {', '.join(PROVIDERS)}")
    return f"{provider},{rest}"


def prepare(*, home: Path, size: str, rotation: int, fullscreen: bool, touch: str) -> None:
    """Set Kivy's environment and config for this process (call once, before importing kivy)."""
    home.mkdir(parents=True, exist_ok=True)
    os.environ["KIVY_HOME"] = str(home)
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")    # Kivy logs through `logging` like the rest
    os.environ.setdefault("KIVY_CLOCK", "interrupt")    # results from other threads wake the loop at once
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    provider = touch_provider(touch) if touch else None
    kivy_log = logging.getLogger("kivy")
    kivy_log.addFilter(OptionalProviders())
    from kivy.config import Config

    kivy_log.setLevel(logging.getLogger().level)        # Kivy sets its own level on import
    width, height = size.split("x")
    Config.set("graphics", "width", width)
    Config.set("graphics", "height", height)
    Config.set("graphics", "rotation", str(rotation))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "0")
    Config.set("graphics", "show_cursor", "0" if provider else "1")
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("kivy", "keyboard_mode", "system")
    Config.set("widgets", "scroll_timeout", "120")     # a tap on a list button acts at once, not 0.2 s later
    for option in Config.options("input"):
        Config.remove_option("input", option)
    if provider:
        Config.set("input", "touch", provider)      # the one touch device; no mouse, no probing
    else:
        Config.set("input", "mouse", "mouse,disable_multitouch")
    log.info("window %s rotation %d fullscreen %s input %s", size, rotation, fullscreen, provider or "mouse")
