"""Every test runs on one pinned clock, never the wall clock's idea of the day.

The pinned instant is a Tuesday morning in Asia/Shanghai outside any member's birthday month that the
tests use. It reaches code in this process through ``kiosk.ledger.clock.from_env`` (the default of every
Ledger, Agent, Hub and Codec) and child processes (kioskctl, the app, hubs, agents) through the same
environment variable. The clock ticks from there, so timeouts and retries still make progress.
Tests that need another instant pass ``at=`` / ``--at`` or their own clock (tests/test_instants.py
runs the time-sensitive scenarios at the awkward instants).
"""
from __future__ import annotations

import grp
import os
import tempfile

import pytest

from kiosk.ledger.clock import SteadyClock

PINNED = "2026-11-24T10:00:00+08:00"

# Tests that drive the UI's flows without a window still import Kivy: give it a home of its own and
# its log through `logging`, as kiosk.ui.kivy_env.prepare does for the app (which sets its own home).
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="kivy-home-"))
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")
os.environ.setdefault("KIVY_NO_FILELOG", "1")


@pytest.fixture(autouse=True)
def clock(monkeypatch) -> SteadyClock:
    pinned = SteadyClock(PINNED)
    for name, value in pinned.environ().items():
        monkeypatch.setenv(name, value)
    return pinned


@pytest.fixture(autouse=True)
def administrator(monkeypatch) -> str:
    """The user running the tests is kioskctl's local administrator (as root is on a device): their
    group is the configured admin group, so commands without --operator run as ``admin``."""
    group = grp.getgrgid(os.getegid()).gr_name
    monkeypatch.setenv("KIOSK_ADMIN_GROUP", group)
    return group


@pytest.fixture(autouse=True)
def chain_key_file(monkeypatch, tmp_path_factory):
    """Head office's personal-data key file for this test (made when first used): hubs in this process and
    in child processes share it, and the sync tests' kiosks are provisioned with the same chain key."""
    path = tmp_path_factory.mktemp("chain") / "chain.key"
    monkeypatch.setenv("KIOSK_HQ_KEY", str(path))
    return path
