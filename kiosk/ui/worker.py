"""One thread owns the ledger; the UI thread only ever sends it jobs.

SQLite calls, scrypt PIN checks and anything else that can take time run here, one at a time
and in order, so the UI thread never blocks and the ledger connection is never shared. Results
(or a refusal) come back through ``post``, which the app sets to ``Clock.schedule_once``.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable

from kiosk.ledger import LedgerError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    """Why a job did not succeed: a ledger code for people, or "internal" for a bug (logged)."""
    code: str
    message: str


def perform(job: Callable[[Any], Any], ledger) -> tuple[bool, Any]:
    """Run ``job(ledger)``: ``(True, result)``, or ``(False, Failure)`` for a refusal (its code kept)
    or a bug (logged, "internal"): whatever runs ledger jobs for the UI answers the same way."""
    try:
        return True, job(ledger)
    except LedgerError as exc:
        log.info("refused: %s (%s)", exc, exc.code)
        return False, Failure(exc.code, str(exc))
    except Exception:  # noqa: BLE001 - a bug must never take the kiosk down
        log.exception("worker job failed")
        return False, Failure("internal", "internal error")


class Worker:
    """Runs ``job(ledger)`` callables on its thread; ``opener()`` makes the ledger there."""

    def __init__(self, opener: Callable[[], Any], post: Callable[[Callable[[], None]], None]):
        self._opener = opener
        self._post = post
        self._jobs: "queue.Queue[tuple | None]" = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="ledger worker", daemon=True)
        self.ledger = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(5)

    @property
    def busy(self) -> bool:
        """True while a job is queued or running (the automation waits for this to settle)."""
        with self._lock:
            return self._pending > 0

    def submit(self, job: Callable[[Any], Any], done: Callable[[Any], None] | None = None,
               failed: Callable[[Failure], None] | None = None) -> None:
        with self._lock:
            self._pending += 1
        self._jobs.put((job, done, failed))

    def _run(self) -> None:
        self.ledger = self._opener()
        while (item := self._jobs.get()) is not None:
            job, done, failed = item
            try:
                ok, value = perform(job, self.ledger)
                self._deliver(done if ok else failed, value)
            finally:
                with self._lock:
                    self._pending -= 1
        self.ledger.close()

    def _deliver(self, callback, value) -> None:
        if callback is not None:
            self._post(lambda: callback(value))
