"""NFC readers through nfcpy: ``nfc:usb[:VID:PID]``, ``nfc:tty:PORT:DRIVER``, ``nfc:udp[:HOST[:PORT]]``.

Reads the UID and NDEF message once per tap, then only polls for presence, so a card left on
the reader is not read again; `TapDebouncer` absorbs a card flickering at the field's edge.
"""
from __future__ import annotations

import errno
import logging
import re
import time

from drivers.base import MISSING, NO_ANSWER, NO_LIBRARY, Driver, Unavailable
from drivers.debounce import PRESENTED, TapDebouncer
from drivers.events import CardPresented, CardRemoved
from drivers.probe import diagnose_usb_reader
from drivers.url import DeviceUrl, DeviceUrlError, int_option

log = logging.getLogger(__name__)

TECHNOLOGIES = ("106A", "106B", "212F", "424F")
TTY_DRIVERS = ("pn532", "arygon")
PRESENCE_POLL_S = 0.1
IDLE_POLL_S = 0.1


def nfcpy_path(url: DeviceUrl) -> str:
    """Check the part after ``nfc:`` and return it as nfcpy's device path."""
    parts = url.target.split(":")
    kind = parts[0]
    if kind == "usb":
        if len(parts) > 3 or not all(re.fullmatch(r"[0-9a-fA-F]{4}", p) for p in parts[1:]):
            raise DeviceUrlError(f"{url.text}: expected nfc:usb or nfc:usb:VID:PID with 4 hex digits each")
    elif kind == "tty":
        if len(parts) != 3 or not re.fullmatch(r"[A-Za-z]+[0-9]+", parts[1]):
            raise DeviceUrlError(f"{url.text}: expected nfc:tty:PORT:DRIVER, e.g. nfc:tty:S0:pn532")
        if parts[2] not in TTY_DRIVERS:
            raise DeviceUrlError(f"{url.text}: driver {parts[2]!r} is not one of {', '.join(TTY_DRIVERS)}")
    elif kind == "udp":
        if len(parts) > 3 or (len(parts) > 1 and not parts[1]):
            raise DeviceUrlError(f"{url.text}: expected nfc:udp:HOST:PORT")
        if len(parts) == 3:
            int_option(url, "port", parts[2], 1, 65535)
    else:
        raise DeviceUrlError(f"{url.text}: unknown NFC connection {kind!r} (known: usb, tty, udp)")
    return url.target


class NfcReader(Driver):
    def __init__(self, url: DeviceUrl, queue):
        super().__init__(url, queue)
        self.path = nfcpy_path(url)
        self.udp = self.path.startswith("udp")
        # nfcpy's UDP link waits 1 s for each technology nobody answers, so poll only FeliCa there,
        # and let a card be missed for longer than one such poll before its tap ends.
        opts = url.take({"targets": "212F" if self.udp else "106A,106B,212F",
                         "grace_ms": "1500" if self.udp else "500"})
        names = [t.strip() for t in opts["targets"].split(",") if t.strip()]
        bad = [t for t in names if t not in TECHNOLOGIES]
        if bad or not names:
            raise url.error("targets", f"must list some of {', '.join(TECHNOLOGIES)}, not {opts['targets']!r}")
        self.technologies = names
        self.debouncer = TapDebouncer(int_option(url, "grace_ms", opts["grace_ms"], 0, 10_000) / 1000)

    def open(self):
        import nfc  # imported here: a kiosk without an NFC reader configured never loads nfcpy

        clf = nfc.ContactlessFrontend()
        try:
            found = clf.open(self.path)
        except OSError as exc:
            if "libusb" in str(exc):
                raise Unavailable(NO_LIBRARY, "libusb-1.0 is not installed") from exc
            if exc.errno == errno.ETIMEDOUT:
                raise Unavailable(NO_ANSWER, f"no answer from a reader on {self.path}") from exc
            raise
        if found:
            return clf
        if self.path.startswith("usb"):
            ids = [int(p, 16) for p in self.path.split(":")[1:]] + [None, None]
            raise diagnose_usb_reader(ids[0], ids[1])
        raise Unavailable(MISSING, f"no reader found at {self.path}")

    def close(self, clf) -> None:
        try:
            clf.close()
        except OSError:
            pass

    def serve(self, clf) -> None:
        import nfc
        from nfc.clf import RemoteTarget

        targets = [RemoteTarget(t) for t in self.technologies]
        while not self.stopping:
            target = clf.sense(*targets)
            if target is None:
                self._report(self.debouncer.absent(time.monotonic()))
                if not self.udp:          # a real reader answers "nothing there" at once; do not spin
                    self.wait(IDLE_POLL_S)
                continue
            tag = nfc.tag.activate(clf, target)
            if tag is None:
                continue
            uid = bytes(tag.identifier)
            ndef = self._read_ndef(tag) if self.debouncer.current != uid else None
            self._report(self.debouncer.seen(uid, time.monotonic()), ndef, tag.type)
            while not self.stopping and tag.is_present:
                self.wait(PRESENCE_POLL_S)
            self._report(self.debouncer.absent(time.monotonic()))

    def on_lost(self) -> None:
        self._report(self.debouncer.flush())

    def _report(self, actions, ndef: bytes | None = None, tag_type: str = "") -> None:
        for action, uid in actions:
            if action == PRESENTED:
                self.emit(CardPresented, uid=uid, ndef=ndef, tag_type=tag_type)
            else:
                self.emit(CardRemoved, uid=uid)

    @staticmethod
    def _read_ndef(tag) -> bytes | None:
        import nfc

        try:
            return bytes(tag.ndef.octets) if tag.ndef is not None else None
        except (nfc.tag.TagCommandError, nfc.clf.CommunicationError) as exc:
            log.warning("card %s: NDEF read failed: %s", bytes(tag.identifier).hex(), exc)
            return None
