"""The one injectable clock: every time-dependent rule reads the moment from here or takes it as an argument.

Production uses :class:`SystemClock`. Tests pin time with :class:`FixedClock` (single-threaded code) or
:class:`SteadyClock` (threaded code and subprocesses: it starts at a chosen instant and then advances
with the monotonic clock, so timeouts and retries still make progress). A process started with
``KIOSK_CLOCK_START=<ISO instant>`` runs on a SteadyClock from that instant (how tests pin the app,
the agent and the hub in their own processes).
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

ENV_START = "KIOSK_CLOCK_START"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware in UTC."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FixedClock:
    """Always the same instant (move it with :meth:`advance` or :meth:`set`)."""

    def __init__(self, moment: datetime | str):
        self.set(moment)

    def set(self, moment: datetime | str) -> None:
        self._moment = parse_instant(moment)

    def advance(self, **delta: float) -> None:
        self._moment += timedelta(**delta)

    def now(self) -> datetime:
        return self._moment


class SteadyClock:
    """Starts at ``start`` and ticks with the monotonic clock."""

    def __init__(self, start: datetime | str):
        self._start = parse_instant(start)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)


def parse_instant(moment: datetime | str) -> datetime:
    """An aware instant from a datetime or ISO text; a naive value is refused (which zone would it be?)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"instant {moment.isoformat()} has no UTC offset")
    return moment.astimezone(timezone.utc)


def from_env(environ=os.environ) -> Clock:
    """SteadyClock from ``KIOSK_CLOCK_START`` when set, else the system clock."""
    start = environ.get(ENV_START)
    return SteadyClock(start) if start else SystemClock()


SYSTEM = SystemClock()
