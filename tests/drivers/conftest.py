"""Shared fixtures for the driver tests: an event queue and ways to wait on it."""
from __future__ import annotations

import queue
import socket

import pytest


@pytest.fixture
def events() -> queue.Queue:
    return queue.Queue()


@pytest.fixture
def expect(events):
    """expect(Kind, timeout=5) -> the next event, which must be of that kind."""
    def next_event(kind, timeout: float = 5.0):
        try:
            event = events.get(timeout=timeout)
        except queue.Empty:
            pytest.fail(f"no {kind.__name__} within {timeout} s")
        assert isinstance(event, kind), f"expected {kind.__name__}, got {event!r}"
        return event
    return next_event


@pytest.fixture
def quiet(events):
    """quiet(seconds) asserts that no event arrives for that long."""
    def check(seconds: float) -> None:
        try:
            event = events.get(timeout=seconds)
        except queue.Empty:
            return
        pytest.fail(f"unexpected event {event!r}")
    return check


@pytest.fixture
def udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
