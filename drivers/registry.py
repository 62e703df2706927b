"""Which driver serves which device path: ``open_device("nfc:usb", queue)``.

Modules are imported only when a path needs them, so a kiosk without a serial scanner never
loads pyserial and a test of the sim never loads nfcpy. ``register`` lets a plug-in add a scheme.
"""
from __future__ import annotations

import importlib
import queue as queue_mod
from typing import Callable

from drivers.base import Driver
from drivers.url import DeviceUrlError, parse

_DRIVERS: dict[str, str | Callable] = {
    "nfc": "drivers.nfc_reader:NfcReader",
    "hid": "drivers.hid:HidScanner",
    "serial": "drivers.serial_scanner:SerialScanner",
    "sim": "drivers.sim:SimDevice",
}


def register(scheme: str, factory: str | Callable) -> None:
    """Serve ``scheme:`` paths with *factory* (a class, or "module:Class" imported on first use)."""
    _DRIVERS[scheme.lower()] = factory


def schemes() -> list[str]:
    return sorted(_DRIVERS)


def open_device(url: str, queue: "queue_mod.Queue") -> Driver:
    """A driver for *url*, not yet started; raises DeviceUrlError naming a bad part or option."""
    parsed = parse(url)
    factory = _DRIVERS.get(parsed.scheme)
    if factory is None:
        raise DeviceUrlError(f"{url}: unknown device scheme {parsed.scheme!r} (known: {', '.join(schemes())})")
    if isinstance(factory, str):
        module, _, name = factory.partition(":")
        factory = getattr(importlib.import_module(module), name)
    return factory(parsed, queue)
