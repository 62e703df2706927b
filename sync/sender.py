"""Outbox -> broker: batches at QoS 1 in a bounded window, resent until head office confirms.

A broker's PUBACK proves nothing about delivery (Mosquitto drops QoS 1 messages for a
subscriber past ``max_queued_messages``), so the window counts batches that head office has
not confirmed. If the confirmed mark stops moving for a while, only the oldest unconfirmed batch
is sent again (a busy hub that still holds the window gets one batch twice, not the window), after
taking in every confirmation that arrived meanwhile; the wait doubles each time, up to a cap, with
random jitter so that a thousand kiosks cut off together do not resend together. Each confirmation
resets the wait; a reconnect resends everything above the confirmed mark.
"""
from __future__ import annotations

import json
import logging
import random
import time
from collections import deque
from typing import Callable

from .local import SyncState

log = logging.getLogger("sync.sender")


class Sender:
    def __init__(self, state: SyncState, publish: Callable[[list[dict]], None], *, batch: int = 200,
                 window: int = 8, timeout: float = 5.0, max_timeout: float = 60.0):
        self.state, self.conn, self.publish = state, state.conn, publish
        self.batch, self.window = batch, window
        self.base_timeout, self.max_timeout = timeout, max_timeout
        self.timeout = self._jittered(timeout)
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
            rows = self._unsent(self.next_seq, self.batch)
            if not rows:
                break
            if not self.inflight:
                self.last_progress = time.monotonic()
            self.publish([json.loads(record) for _, record in rows])
            self.inflight.append((rows[0][0], rows[-1][0]))
            self.next_seq = rows[-1][0] + 1
            sent += len(rows)
        return sent

    def _unsent(self, first: int, limit: int) -> list[tuple[int, str]]:
        return self.conn.execute(
            "SELECT o.seq, j.record FROM outbox o JOIN journal j ON j.tx_id = o.tx_id"
            " WHERE o.seq >= ? AND o.confirmed_at IS NULL ORDER BY o.seq LIMIT ?", (first, limit)).fetchall()

    def confirmed(self, hwm: int) -> bool:
        """Head office has everything up to ``hwm``: free the window, reset the backoff; True if that was news."""
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
            self.timeout = self._jittered(self.base_timeout)
        return progressed

    @staticmethod
    def _jittered(seconds: float) -> float:
        """``seconds`` stretched by up to half again at random (decorrelates kiosks' resends)."""
        return seconds * random.uniform(1.0, 1.5)

    def check(self) -> bool:
        """Resend the oldest unconfirmed batch (and back off) when nothing was confirmed for too long;
        True when it did."""
        if not self.inflight or time.monotonic() - self.last_progress < self.timeout:
            return False
        if self.confirmed(self.state.confirmed()):       # confirmed while we waited: nothing to resend yet
            return False
        first, last = self.inflight[0]
        log.warning("no confirmation for %.1fs: resending seq %d-%d (%d batches in flight)", self.timeout, first, last,
                    len(self.inflight))
        self.timeout = min(self.timeout * 2, self.max_timeout * random.uniform(1.0, 1.5))
        self.last_progress = time.monotonic()
        rows = self._unsent(first, last - first + 1)
        if rows:
            self.publish([json.loads(record) for _, record in rows])
        return True
