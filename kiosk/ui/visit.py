"""One visit at the counter: who is being served, who is signed in, and the ledger work on their behalf.

Plain Python (no Kivy), so the flows can run against a ledger called in-line in a test as well as
against the app's worker thread. A visit ends when the member or staff leave or the kiosk is idle:
:meth:`end` forgets everyone, and answers the ledger sends later for the finished visit are dropped.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from . import services

log = logging.getLogger(__name__)

Job = Callable[[Any], Any]                 # job(ledger) -> result, run where the ledger lives
Submit = Callable[[Job, Callable, Callable], None]


class Visit:
    """``submit(job, done, failed)`` runs ``job(ledger)`` somewhere (the worker thread in the app,
    in-line in tests) and calls back on the UI thread; ``on_failure`` shows a refusal nobody handled."""

    def __init__(self, submit: Submit, on_failure: Callable):
        self._submit = submit
        self._on_failure = on_failure
        self.generation = 0                  # bumped by end(): late results of a past visit are dropped
        self._writing = False                # a ledger write is in flight
        self.member: dict | None = None      # the member being served (their ledger snapshot)
        self.staff: dict | None = None       # the signed-in staff member
        self.awaiting_card: Callable[[dict], None] | None = None   # who wants the next card tapped

    @property
    def card_id(self) -> str:
        return self.member["card_id"]

    @property
    def operator(self) -> str:
        """Who the journal names for a counter action: the signed-in staff member."""
        return self.staff["staff_id"]

    @property
    def role(self) -> str | None:
        return self.staff["role"] if self.staff else None

    def end(self) -> None:
        """Forget the member, the staff session and anything in flight."""
        self.generation += 1
        self._writing = False
        self.member = self.staff = self.awaiting_card = None

    def run(self, job: Job, done: Callable | None = None, failed: Callable | None = None) -> None:
        """Run ``job(ledger)``; ``done``/``failed`` are called unless the visit has ended meanwhile."""
        generation = self.generation

        def current(callback):
            return lambda value: callback(value) if generation == self.generation else None

        self._submit(job, current(done or (lambda _r: None)), current(failed or self._on_failure))

    def write(self, job: Job, done: Callable | None = None, failed: Callable | None = None) -> None:
        """Like :meth:`run`, for a ledger write: one at a time, so a double tap on Confirm (or Sign
        in) is never recorded twice; a tap while one is in flight is ignored."""
        if self._writing:
            log.info("ignored a second write while one is in flight")
            return
        self._writing = True

        def finish(callback):
            def call(value):
                self._writing = False
                callback(value)
            return call
        self.run(job, finish(done or (lambda _r: None)), finish(failed or self._on_failure))

    def reload_member(self, then: Callable[[], None]) -> None:
        """Read the member again after a change, then go on (redraw, or another screen)."""
        card = self.card_id

        def got(view):
            self.member = view
            then()
        self.run(lambda led: services.member_snapshot(led, card), got)
