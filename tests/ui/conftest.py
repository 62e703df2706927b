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
    """start(*args, ui={...}, sync={...}) -> a running kiosk; ``ui`` and ``sync`` become config sections."""
    running: list[Kiosk] = []

    def start(*args: str, ui: dict | None = None, sync: dict | None = None) -> Kiosk:
        var = tmp_path / f"kiosk{len(running)}"
        var.mkdir()
        config = None
        if ui or sync:
            config = var / "kiosk.toml"
            config.write_text("".join(f"[{name}]\n" + "".join(f"{key} = {value!r}\n" for key, value in section.items())
                                      for name, section in (("ui", ui), ("sync", sync)) if section).replace("'", '"'))
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
def ledger_of():
    """ledger_of(kiosk): the ledger file a kiosk uses, opened by the test to check what the app wrote."""
    opened: list[Ledger] = []

    def open_for(kiosk: Kiosk) -> Ledger:
        opened.append(Ledger(kiosk.var / "simulate" / "ledger.db"))
        return opened[-1]
    yield open_for
    for led in opened:
        led.close()


@pytest.fixture
def ledger(kiosk, ledger_of):
    """The same ledger file the app uses, opened by the test to check what the app wrote."""
    return ledger_of(kiosk)
