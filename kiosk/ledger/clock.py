"""The one injectable clock: every time-dependent rule reads the moment from here or takes it as an argument.

Production uses :class:`SystemClock`. Tests pin time with :class:`FixedClock` (single-threaded code) or
:class:`SteadyClock` (threaded code and child processes: it starts at a chosen instant and then ticks,
so timeouts and retries still make progress). A SteadyClock is the wall clock shifted by a constant,
so every process given the same ``KIOSK_CLOCK`` value (see :meth:`SteadyClock.environ`) reads the same
instant at the same moment: a kiosk's request deadline means the same thing to the hub that checks it.
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

from .dates import to_utc_text

ENV = "KIOSK_CLOCK"       # "<ISO instant>@<unix time it was pinned at>"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware in UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """Always the same instant until moved with :meth:`set` or :meth:`advance`."""

    def __init__(self, moment: datetime | str):
        self.set(moment)

    def set(self, moment: datetime | str) -> None:
        self._moment = parse_instant(moment)

    def advance(self, **delta: float) -> None:
        self._moment += timedelta(**delta)

    def now(self) -> datetime:
        return self._moment


class SteadyClock:
    """Reads ``start`` at the moment it was pinned (``anchor``, unix time) and ticks from there."""

    def __init__(self, start: datetime | str, anchor: float | None = None):
        self.start = parse_instant(start)
        self.anchor = time.time() if anchor is None else anchor

    def now(self) -> datetime:
        return self.start + timedelta(seconds=time.time() - self.anchor)

    def environ(self) -> dict[str, str]:
        """The environment that gives a child process this same clock."""
        return {ENV: f"{self.start.isoformat()}@{self.anchor!r}"}


def parse_instant(moment: datetime | str) -> datetime:
    """An aware UTC instant from a datetime or ISO text; a naive one is refused (which zone would it be?)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"instant {moment.isoformat()} has no UTC offset")
    return moment.astimezone(timezone.utc)


def from_env(environ=os.environ) -> Clock:
    """The clock a process was given in ``KIOSK_CLOCK`` (tests), else the system clock.

    A bad value is a startup error naming the variable, not a silent fall-back to the wall clock.
    """
    value = environ.get(ENV)
    if not value:
        return SYSTEM
    start, _, anchor = value.rpartition("@")
    try:
        return SteadyClock(start, float(anchor))
    except ValueError as exc:
        raise ValueError(f"{ENV}={value!r} is not '<ISO instant>@<unix time>': {exc}") from None


SYSTEM = SystemClock()


def now_text(clock: Clock) -> str:
    """The clock's instant as the ledger and the protocol store it (UTC, microseconds, "Z")."""
    return to_utc_text(clock.now())
