"""The real app in a real Kivy window: one ``kiosk --simulate`` process per test, on one Xvfb
display the session starts, driven through the automation socket (kiosk.ui.remote)."""
from __future__ import annotations

import pytest

from kiosk.ledger import Ledger
from kiosk.ui.remote import Kiosk, virtual_display


@pytest.fixture(scope="session")
def display():
    with virtual_display() as name:
        yield name


@pytest.fixture
def start(tmp_path, display):
    """start(*args, ui={...}) -> a running kiosk; ``ui`` becomes the [ui] section of its config."""
    running: list[Kiosk] = []

    def start(*args: str, ui: dict | None = None) -> Kiosk:
        var = tmp_path / f"kiosk{len(running)}"
        var.mkdir()
        config = None
        if ui:
            config = var / "kiosk.toml"
            config.write_text("[ui]\n" + "".join(f"{key} = {value!r}\n" for key, value in ui.items())
                              .replace("'", '"'))
        kiosk = Kiosk(var, display=display, args=list(args), config=str(config) if config else None)
        running.append(kiosk)
        return kiosk

    yield start
    for kiosk in running:
        kiosk.close()


@pytest.fixture
def kiosk(start) -> Kiosk:
    """The app in Simplified Chinese (the default) on a freshly seeded demo ledger."""
    return start()


@pytest.fixture
def ledger(kiosk):
    """The same ledger file the app uses, opened by the test to check what the app wrote."""
    led = Ledger(kiosk.var / "simulate" / "ledger.db")
    yield led
    led.close()
