"""HID scanners through the driver: grabbed, decoded, and found again after an unplug.

The evdev devices are fakes (there is no /dev/uinput here); everything else is the real driver.
"""
import errno
import os
import time
from collections import deque

import pytest
from evdev import InputEvent, ecodes as e

from drivers import hid, open_device
from drivers.events import CodeScanned, DeviceBack, DeviceLost
from drivers.hid_decode import KEYMAP

CHARS = {char: (code, i == 1) for code, pair in KEYMAP.items() for i, char in enumerate(pair)}
BY_ID = "/dev/input/by-id/usb-Scanner_Co_Barcode-event-kbd"


class FakeInputDevice:
    """Stands in for evdev.InputDevice: a pipe fd for select(), events typed by the test."""

    def __init__(self, path):
        self.path = path
        self.fd, self._wake = os.pipe()
        self.grabbed = self.closed = False
        self.busy = False
        self._events, self._error = deque(), None

    def grab(self):
        if self.busy:
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY))
        self.grabbed = True

    def ungrab(self):
        self.grabbed = False

    def read(self):
        os.read(self.fd, 4096)
        if self._error:
            raise self._error
        events, self._events = list(self._events), deque()
        return iter(events)

    def close(self):
        self.closed = True
        for fd in (self.fd, self._wake):
            try:
                os.close(fd)
            except OSError:
                pass

    def type(self, text):
        for char in text:
            code, shift = CHARS[char]
            if shift:
                self._events.append(InputEvent(0, 0, e.EV_KEY, e.KEY_LEFTSHIFT, 1))
            self._events.extend([InputEvent(0, 0, e.EV_KEY, code, 1), InputEvent(0, 0, e.EV_KEY, code, 0)])
            if shift:
                self._events.append(InputEvent(0, 0, e.EV_KEY, e.KEY_LEFTSHIFT, 0))
        self._events.extend([InputEvent(0, 0, e.EV_KEY, e.KEY_ENTER, 1), InputEvent(0, 0, e.EV_KEY, e.KEY_ENTER, 0)])
        os.write(self._wake, b"!")

    def unplug(self):
        self._error = OSError(errno.ENODEV, os.strerror(errno.ENODEV))
        os.write(self._wake, b"!")


@pytest.fixture
def plugged(monkeypatch):
    """path -> fake device currently plugged in; evdev.InputDevice opens from it."""
    devices: dict = {}

    def open_fake(path):
        if path not in devices:
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        if devices[path] == "denied":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), path)
        return devices[path]

    monkeypatch.setattr(hid.evdev, "InputDevice", open_fake)
    return devices


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


def test_scans_are_decoded_and_keystrokes_are_kept_from_the_ui(plugged, events, expect):
    fake = plugged[BY_ID] = FakeInputDevice(BY_ID)
    scanner = open_device(f"hid:{BY_ID}", events)
    scanner.start()
    assert wait_for(lambda: fake.grabbed)
    fake.type("KM1:M42:123:ABC")
    assert expect(CodeScanned).text == "KM1:M42:123:ABC"
    scanner.stop()
    assert not fake.grabbed and fake.closed


def test_unplug_and_replug_at_the_same_by_id_path(plugged, events, expect):
    first = plugged[BY_ID] = FakeInputDevice(BY_ID)
    scanner = open_device(f"hid:{BY_ID}", events)
    scanner.start()
    assert wait_for(lambda: first.grabbed)
    del plugged[BY_ID]
    first.unplug()
    assert expect(DeviceLost).reason == "disconnected"
    assert wait_for(lambda: scanner.state == "missing")
    second = plugged[BY_ID] = FakeInputDevice(BY_ID)
    expect(DeviceBack, timeout=10)
    second.type("4006381333931")
    assert expect(CodeScanned).text == "4006381333931"
    scanner.stop()


def test_found_by_usb_ids_when_the_event_number_changes(plugged, events, expect, tmp_path, monkeypatch):
    monkeypatch.setattr(hid, "SYSFS", tmp_path)

    def appear(n, vendor="05e0", product="1200", keys="e000000 10000000"):
        device = tmp_path / f"class/input/event{n}/device"
        (device / "id").mkdir(parents=True)
        (device / "capabilities").mkdir()
        (device / "id/vendor").write_text(vendor + "\n")
        (device / "id/product").write_text(product + "\n")
        (device / "capabilities/key").write_text(keys + "\n")         # bit 28: KEY_ENTER
        plugged[f"/dev/input/event{n}"] = FakeInputDevice(f"/dev/input/event{n}")
        return plugged[f"/dev/input/event{n}"]

    appear(2, vendor="046d", product="c31c")        # the kiosk's keyboard, not the scanner
    appear(6, keys="3ff 0")                         # the scanner's consumer-control node: no Enter
    scanner_a = appear(7)
    scanner = open_device("hid:vid=05e0,pid=1200", events)
    scanner.start()
    assert wait_for(lambda: scanner_a.grabbed)
    scanner_a.type("111")
    assert expect(CodeScanned).text == "111"
    (tmp_path / "class/input/event7/device/id/vendor").unlink()
    scanner_a.unplug()
    expect(DeviceLost)
    scanner_b = appear(9)
    expect(DeviceBack, timeout=10)
    scanner_b.type("222")
    assert expect(CodeScanned).text == "222"
    scanner.stop()


def test_permission_denied_and_busy_are_states_staff_see(plugged, events, expect):
    plugged[BY_ID] = "denied"
    scanner = open_device(f"hid:{BY_ID}", events)
    scanner.start()
    assert expect(DeviceLost).reason == "permission denied"
    assert scanner.state == "permission denied"
    scanner.stop()
    busy = plugged[BY_ID] = FakeInputDevice(BY_ID)
    busy.busy = True
    scanner = open_device(f"hid:{BY_ID}", events)
    scanner.start()
    assert expect(DeviceLost).reason == "busy"
    assert busy.closed
    scanner.stop()
