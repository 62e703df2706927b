"""``sim:`` — the scriptable twin of every driver, for tests, the demo and keyboard shortcuts.

It emits exactly what a real reader or scanner would for the same story (a tap, a card left
on the reader, a scan, an unplug with a card on it, a replug), so the UI cannot tell the
difference. Options: ``sim:NAME?state=missing&card=04A1B2C3&ndef=HEX&scan=TEXT`` set the
state at start and a card or code that is presented / scanned once started.
"""
from __future__ import annotations

import threading

from drivers.base import BUSY, DENIED, MISSING, NO_ANSWER, OK, STOPPED, WRONG_DRIVER, Driver
from drivers.events import CardPresented, CardRemoved, CodeScanned, DeviceBack, DeviceLost
from drivers.url import DeviceUrl, choice_option

STATES = (OK, MISSING, DENIED, BUSY, WRONG_DRIVER, NO_ANSWER)


def _hex(url: DeviceUrl, name: str, value: str) -> bytes | None:
    if not value:
        return None
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise url.error(name, f"must be hex digits, not {value!r}") from None


class SimDevice(Driver):
    """A simulated NFC reader and barcode scanner in one; every method is safe from any thread."""

    def __init__(self, url: DeviceUrl, queue):
        super().__init__(url, queue)
        opts = url.take({"state": OK, "card": "", "ndef": "", "scan": "", "tag_type": "Type2Tag"})
        self._initial = choice_option(url, "state", opts["state"], STATES)
        self._card: tuple[bytes, bytes | None, str] | None = None    # what lies on the reader
        self._reported: bytes | None = None                          # the tap the consumer knows of
        self._started = False
        self._state_lock = threading.RLock()
        card = _hex(url, "card", opts["card"])
        if card:
            self._card = (card, _hex(url, "ndef", opts["ndef"]), opts["tag_type"])
        self._scan_at_start = opts["scan"]

    def start(self) -> None:
        with self._state_lock:
            self._started = True
            if self._initial != OK:
                self._set_state(self._initial, f"simulated: {self._initial}")
                self.emit(DeviceLost, reason=self._initial)
                return
            self._set_state(OK, "")
            self._announce_card()
            if self._scan_at_start:
                self.scan(self._scan_at_start)

    def stop(self, timeout: float = 0.0) -> None:
        with self._state_lock:
            self._started = False
            self._set_state(STOPPED, "")

    @property
    def _live(self) -> bool:
        return self._started and self.state == OK

    # --- the script ----------------------------------------------------------------
    def present_card(self, uid: bytes | str, ndef: bytes | None = None, tag_type: str = "Type2Tag") -> None:
        """Lay a card on the reader (replacing any other); the same card again is not a new tap."""
        uid = bytes.fromhex(uid) if isinstance(uid, str) else bytes(uid)
        with self._state_lock:
            self._card = (uid, ndef, tag_type)
            self._announce_card()

    def remove_card(self) -> None:
        with self._state_lock:
            self._card = None
            self._end_tap()

    def scan(self, text: str) -> None:
        with self._state_lock:
            if self._live:
                self.emit(CodeScanned, text=text)

    def unplug(self, reason: str = MISSING) -> None:
        """Pull the cable: a tap in progress ends, then DeviceLost."""
        with self._state_lock:
            if not self._live:
                return
            self._end_tap()
            self._set_state(reason, f"simulated: {reason}")
            self.emit(DeviceLost, reason=reason)

    def replug(self) -> None:
        """Plug back in: DeviceBack, and a card still lying on the reader is read again."""
        with self._state_lock:
            if not self._started or self.state == OK:
                return
            self._set_state(OK, "")
            self.emit(DeviceBack)
            self._announce_card()

    # --- the same rules a real reader follows ------------------------------------------
    def _announce_card(self) -> None:
        if not self._live or self._card is None:
            return
        uid, ndef, tag_type = self._card
        if self._reported == uid:
            return
        self._end_tap()
        self._reported = uid
        self.emit(CardPresented, uid=uid, ndef=ndef, tag_type=tag_type)

    def _end_tap(self) -> None:
        if self._reported is not None and self._started:
            uid, self._reported = self._reported, None
            self.emit(CardRemoved, uid=uid)
