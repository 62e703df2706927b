"""Keyboard-wedge barcode scanners via evdev: ``hid:/dev/input/by-id/...`` or ``hid:vid=XXXX,pid=YYYY``.

The device is grabbed so scanned keystrokes never reach the touchscreen UI as typing. After
an unplug (ENODEV) the scanner is found again by its by-id path, or by USB vendor/product id
in sysfs when its event node number changed.
"""
from __future__ import annotations

import re
import select
from pathlib import Path

import evdev
from evdev import ecodes

from drivers.base import MISSING, Driver, Unavailable
from drivers.events import CodeScanned
from drivers.hid_decode import KeyDecoder
from drivers.url import DeviceUrl, DeviceUrlError, int_option

SYSFS = Path("/sys")
DEV_INPUT = Path("/dev/input")
POLL_S = 0.2


def parse_ids(url: DeviceUrl) -> tuple[int, int] | None:
    """(vid, pid) for ``hid:vid=XXXX,pid=YYYY``; None for a device path."""
    if url.target.startswith("/"):
        return None
    fields = dict(part.partition("=")[::2] for part in url.target.split(","))
    if set(fields) != {"vid", "pid"} or not all(re.fullmatch(r"[0-9a-fA-F]{4}", v) for v in fields.values()):
        raise DeviceUrlError(f"{url.text}: expected hid:/dev/input/... or hid:vid=XXXX,pid=YYYY (4 hex digits)")
    return int(fields["vid"], 16), int(fields["pid"], 16)


def _has_enter_key(node: Path) -> bool:
    """Scanners also expose e.g. a consumer-control node with the same ids; only the keyboard types."""
    try:
        last_word = int((node / "device/capabilities/key").read_text().split()[-1], 16)
    except (OSError, ValueError, IndexError):
        return True                        # capabilities unknown: do not rule the node out
    return bool(last_word >> ecodes.KEY_ENTER & 1)


def find_event_node(vid: int, pid: int) -> str | None:
    """The first keyboard-like /dev/input/eventN with these USB ids.

    Looked up in sysfs, which is readable even when the node is not (so "permission denied" shows).
    """
    for node in sorted(SYSFS.glob("class/input/event*"), key=lambda p: int(p.name[5:] or 0)):
        try:
            ids = tuple(int((node / f"device/id/{name}").read_text(), 16) for name in ("vendor", "product"))
        except (OSError, ValueError):
            continue
        if ids == (vid, pid) and _has_enter_key(node):
            return str(DEV_INPUT / node.name)
    return None


class HidScanner(Driver):
    def __init__(self, url: DeviceUrl, queue):
        super().__init__(url, queue)
        self.ids = parse_ids(url)
        opts = url.take({"max_length": "1024"})
        self.decoder = KeyDecoder(int_option(url, "max_length", opts["max_length"], 1, 65536))

    def open(self):
        path = self.url.target
        if self.ids is not None:
            path = find_event_node(*self.ids)
            if path is None:
                raise Unavailable(MISSING, "no input device with USB id %04x:%04x" % self.ids)
        device = evdev.InputDevice(path)
        try:
            device.grab()
        except OSError:
            device.close()
            raise
        self.decoder.reset()
        return device

    def close(self, device) -> None:
        for step in (device.ungrab, device.close):
            try:
                step()
            except OSError:
                pass

    def serve(self, device) -> None:
        while not self.stopping:
            if not select.select([device.fd], [], [], POLL_S)[0]:
                continue
            try:
                events = list(device.read())
            except BlockingIOError:
                continue
            for event in events:
                text = self.decoder.feed(event)
                if text:
                    self.emit(CodeScanned, text=text)
