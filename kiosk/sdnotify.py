"""systemd readiness and watchdog pings (Type=notify, WatchdogSec=) without a dependency.

systemd passes a datagram socket in $NOTIFY_SOCKET ("@name" is the abstract namespace) and,
with a watchdog, its period in $WATCHDOG_USEC; outside systemd every call does nothing.
"""
from __future__ import annotations

import os
import socket
import time


def notify(state: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.sendto(state.encode(), address)
    return True


class Watchdog:
    """Pings WATCHDOG=1 at half the period systemd asked for, from the service's main loop."""

    def __init__(self):
        usec = os.environ.get("WATCHDOG_USEC")
        pid = os.environ.get("WATCHDOG_PID")
        mine = pid is None or pid == str(os.getpid())
        self.period = int(usec) / 2e6 if usec and usec.isdigit() and mine else None
        self._last = 0.0

    def ready(self, status: str) -> None:
        notify(f"READY=1\nSTATUS={status}")

    def tick(self) -> None:
        if self.period is not None and time.monotonic() - self._last >= self.period:
            notify("WATCHDOG=1")
            self._last = time.monotonic()
