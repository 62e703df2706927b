"""Outbox -> broker: batches at QoS 1 in a bounded window, resent until head office confirms.

A broker's PUBACK proves nothing about delivery (Mosquitto drops QoS 1 messages for a
subscriber past ``max_queued_messages``), so the window counts batches that head office has
not confirmed. If the confirmed mark stops moving for ``timeout`` seconds, everything above
it is sent again (the hub ignores what it already has) and the timeout doubles, up to a cap.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from typing import Callable

from kiosk.ledger import Ledger

from .local import SyncState

log = logging.getLogger("sync.sender")


class Sender:
    def __init__(self, ledger: Ledger, state: SyncState, publish: Callable[[list[dict]], None], *, batch: int = 200,
                 window: int = 8, timeout: float = 5.0, max_timeout: float = 60.0):
        self.ledger, self.state, self.publish = ledger, state, publish
        self.batch, self.window = batch, window
        self.base_timeout, self.max_timeout = timeout, max_timeout
        self.timeout = timeout
        self.inflight: deque[tuple[int, int]] = deque()   # (first seq, last seq) of unconfirmed batches
        self.next_seq = 1
        self.last_progress = time.monotonic()
        self.reset()

    def reset(self) -> None:
        """Forget what is in flight: the next pump starts again just above the confirmed mark."""
        self.inflight.clear()
        self.next_seq = self.state.confirmed() + 1

    def pump(self) -> int:
        """Send batches while the window has room; returns how many records went out."""
        sent = 0
        while len(self.inflight) < self.window:
            rows = self.ledger.unsent(self.next_seq, self.batch)
            if not rows:
                break
            if not self.inflight:
                self.last_progress = time.monotonic()
            self.publish([record for _, record in rows])
            self.inflight.append((rows[0][0], rows[-1][0]))
            self.next_seq = rows[-1][0] + 1
            sent += len(rows)
        return sent

    def confirmed(self, hwm: int) -> None:
        """Head office has everything up to ``hwm``: free the window, reset the backoff."""
        progressed = False
        while self.inflight and self.inflight[0][1] <= hwm:
            self.inflight.popleft()
            progressed = True
        if self.inflight and self.inflight[0][0] <= hwm:      # a batch confirmed in part
            self.inflight[0] = (hwm + 1, self.inflight[0][1])
            progressed = True
        if self.next_seq <= hwm:
            self.next_seq = hwm + 1
        if progressed:
            self.last_progress = time.monotonic()
            self.timeout = self.base_timeout

    def check(self) -> bool:
        """Resend (and back off) when nothing was confirmed for too long; True when it did."""
        if not self.inflight or time.monotonic() - self.last_progress < self.timeout:
            return False
        log.warning("no confirmation for %.0fs: resending from seq %d (%d batches were in flight)", self.timeout,
                    self.state.confirmed() + 1, len(self.inflight))
        self.timeout = min(self.timeout * 2, self.max_timeout)
        self.reset()
        return True
