"""The one interface every driver shares: start(), stop(), state, and events on a queue.

Hardware comes and goes (cables get pulled, readers are missing at boot). The loop here turns
that into `DeviceLost` / `DeviceBack` events and a `state` for staff to see, retrying with
backoff, so no device problem ever reaches the consumer as an exception.
"""
from __future__ import annotations

import errno
import logging
import os
import queue as queue_mod
import threading

from drivers.events import CardPresented, CardRemoved, CodeScanned, DeviceBack, DeviceEvent, DeviceLost
from drivers.url import DeviceUrl

log = logging.getLogger(__name__)

STARTING = "starting"
OK = "ok"
MISSING = "missing"
DENIED = "permission denied"
BUSY = "busy"
WRONG_DRIVER = "wrong driver bound"
NO_ANSWER = "not responding"
DISCONNECTED = "disconnected"
NO_LIBRARY = "library missing"
STOPPED = "stopped"

_ERRNO_STATES = {
    errno.ENOENT: MISSING, errno.ENODEV: MISSING, errno.ENXIO: MISSING,
    errno.EACCES: DENIED, errno.EPERM: DENIED,
    errno.EBUSY: BUSY,
    errno.ETIMEDOUT: NO_ANSWER,
}


class Unavailable(Exception):
    """Raised by a driver's open() when the device cannot be used; *state* is shown to staff."""

    def __init__(self, state: str, detail: str):
        super().__init__(detail)
        self.state = state
        self.detail = detail


def unavailable(exc: BaseException, what: str) -> Unavailable:
    """Classify an OS-level failure to open or use *what* as a state staff can act on."""
    if isinstance(exc, Unavailable):
        return exc
    code = getattr(exc, "errno", None)
    state = _ERRNO_STATES.get(code, "error")
    reason = os.strerror(code) if code in _ERRNO_STATES else str(exc) or type(exc).__name__
    return Unavailable(state, f"{what}: {reason}")


class Backoff:
    """Retry delays that double up to a cap, so a missing device costs little CPU."""

    def __init__(self, first: float = 0.2, cap: float = 5.0):
        self.first, self.cap, self.next_delay = first, cap, first

    def next(self) -> float:
        delay, self.next_delay = self.next_delay, min(self.cap, self.next_delay * 2)
        return delay

    def reset(self) -> None:
        self.next_delay = self.first


class Driver:
    """Base class: runs open() / serve() / close() in a thread, reconnecting with backoff.

    Subclasses implement ``open() -> handle`` (raise OSError or Unavailable), ``serve(handle)``
    (loop until ``self.stopping``; raise OSError when the device goes away) and ``close(handle)``.
    """

    def __init__(self, url: DeviceUrl, queue: "queue_mod.Queue[DeviceEvent]"):
        self.url = url
        self.queue = queue
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._state = STARTING
        self._detail = ""
        self._thread: threading.Thread | None = None
        self.backoff = Backoff()

    # --- what the consumer sees -------------------------------------------------------
    @property
    def state(self) -> str:
        with self._lock:
            return self._state

    @property
    def detail(self) -> str:
        """A human-readable line about the current state (the path and the OS's reason)."""
        with self._lock:
            return self._detail

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"driver {self.url.text}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._set_state(STOPPED, "")

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep unless stopped first; True when stopping."""
        return self._stop.wait(seconds)

    # --- for subclasses ---------------------------------------------------------------
    def open(self):
        raise NotImplementedError

    def serve(self, handle) -> None:
        raise NotImplementedError

    def close(self, handle) -> None:
        pass

    def emit(self, event_type: type[DeviceEvent], note: str = "", **fields) -> None:
        """Put one event on the queue and log it as one line (*note* only goes to the log)."""
        event = event_type(device=self.url.text, **fields)
        self.queue.put(event)
        level = logging.WARNING if isinstance(event, DeviceLost) else logging.INFO
        log.log(level, "%s %s%s", self.url.text, describe(event), f": {note}" if note else "")

    def _set_state(self, state: str, detail: str) -> None:
        with self._lock:
            self._state, self._detail = state, detail

    # --- the reconnect loop -----------------------------------------------------------
    def _run(self) -> None:
        lost = False
        while not self.stopping:
            try:
                handle = self.open()
            except Exception as exc:  # noqa: BLE001 - any failure to open is a device state
                problem = unavailable(exc, self.url.target or self.url.text)
                changed = problem.state != self.state
                self._set_state(problem.state, problem.detail)
                if not lost:
                    self.emit(DeviceLost, reason=problem.state, note=problem.detail)
                    lost = True
                elif changed:
                    log.warning("%s still unavailable (%s): %s", self.url.text, problem.state, problem.detail)
                self.wait(self.backoff.next())
                continue
            self._set_state(OK, "")
            self.backoff.reset()
            if lost:
                self.emit(DeviceBack)
                lost = False
            try:
                self.serve(handle)
            except Exception as exc:  # noqa: BLE001 - unplugged mid-use, whatever the library raised
                if not self.stopping:
                    detail = unavailable(exc, self.url.target or self.url.text).detail
                    self.on_lost()
                    self._set_state(DISCONNECTED, detail)
                    self.emit(DeviceLost, reason=DISCONNECTED, note=detail)
                    lost = True
            finally:
                self.close(handle)
            if lost:
                self.wait(self.backoff.next())

    def on_lost(self) -> None:
        """Called when the device goes away mid-use, before DeviceLost (e.g. to end a tap)."""


def describe(event: DeviceEvent) -> str:
    """One log-friendly line per event; scanned text is not logged (it may be a member's code)."""
    if isinstance(event, CardPresented):
        return f"card presented uid={event.uid.hex()} type={event.tag_type or '-'} ndef={len(event.ndef or b'')}B"
    if isinstance(event, CardRemoved):
        return f"card removed uid={event.uid.hex()}"
    if isinstance(event, CodeScanned):
        return f"code scanned ({len(event.text)} chars)"
    if isinstance(event, DeviceLost):
        return f"device lost ({event.reason})"
    if isinstance(event, DeviceBack):
        return "device back"
    return type(event).__name__
