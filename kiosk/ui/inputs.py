"""From driver events to what they mean, off the UI thread.

One thread takes events off the drivers' queue, verifies cards and codes (signatures, MACs)
and, for a member card or phone QR code, asks the ledger worker who it is straight away, so a
tap reaches the member screen with a single hop onto the UI thread. Everything the UI gets is
already decided: a card read, a refusal with its reason, a verified code, a device change.
"""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

from drivers.codes import MemberQR
from drivers.events import CardPresented, CodeScanned, DeviceBack, DeviceLost
from drivers.verdict import MemberCard, Refused

from . import services

log = logging.getLogger(__name__)


class InputPump:
    """``sink`` is the controller; its ``on_*`` methods are called on the UI thread via ``post``."""

    def __init__(self, events: queue.Queue, cards, codes, worker, sink, post: Callable, head_office=None):
        self.events, self.cards, self.codes = events, cards, codes
        self.worker, self.sink, self.post = worker, sink, post
        self.head_office = head_office          # asked for the key of another store's member who taps here
        self._thread = threading.Thread(target=self._run, name="input pump", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.events.put(None)
        self._thread.join(2)

    @property
    def busy(self) -> bool:
        """True while an event is queued or being handled (the automation waits for this)."""
        return self.events.unfinished_tasks > 0

    def _run(self) -> None:
        while (event := self.events.get()) is not None:
            try:
                self._handle(event)
            except Exception:  # noqa: BLE001 - one bad event must not stop the kiosk listening
                log.exception("could not handle %s", type(event).__name__)
            finally:
                self.events.task_done()

    def _handle(self, event) -> None:
        if isinstance(event, CardPresented):
            verdict = self.cards.check(event.uid, event.ndef)
            if isinstance(verdict, MemberCard):
                self._look_up(lambda led: services.read_card(led, verdict.card_id, counter=verdict.counter,
                                                             head_office=self.head_office, proof=verdict.proof),
                              event.at)
            else:
                self.post(lambda: self.sink.on_refused("card", verdict.reason))
        elif isinstance(event, CodeScanned):
            result = self.codes.check(event.text)
            if isinstance(result, MemberQR):
                self._look_up(lambda led: services.read_member_qr(led, result.member_id, self.head_office), event.at)
            elif isinstance(result, Refused):
                self.post(lambda: self.sink.on_refused("code", result.reason))
            else:
                self.post(lambda: self.sink.on_code(result))
        elif isinstance(event, (DeviceLost, DeviceBack)):
            self.post(lambda: self.sink.on_device(event))

    def _look_up(self, job, started: float) -> None:
        self.worker.submit(job, lambda found: self.sink.on_card(found, started),
                           lambda failure: self.sink.on_failure(failure))
