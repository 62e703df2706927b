"""One `CardPresented` per tap: a card at the edge of the field flickers in and out.

Pure state machine (no I/O, explicit clock) so the rules are testable on their own: a card
that vanishes and comes back within *grace* seconds never left; a different card ends the
first tap at once.
"""
from __future__ import annotations

PRESENTED = "presented"
REMOVED = "removed"


class TapDebouncer:
    def __init__(self, grace: float = 0.5):
        self.grace = grace
        self.current: bytes | None = None
        self._gone_since: float | None = None

    def seen(self, uid: bytes, now: float) -> list[tuple[str, bytes]]:
        """A card answered the reader. Returns the events to report, in order."""
        if self.current == uid:
            self._gone_since = None
            return []
        actions = self.flush()
        self.current = uid
        return actions + [(PRESENTED, uid)]

    def absent(self, now: float) -> list[tuple[str, bytes]]:
        """No card answered. The tap ends once nothing has answered for *grace* seconds."""
        if self.current is None:
            return []
        if self._gone_since is None:
            self._gone_since = now
        if now - self._gone_since >= self.grace:
            return self.flush()
        return []

    def flush(self) -> list[tuple[str, bytes]]:
        """End the current tap now (a different card arrived, or the reader went away)."""
        if self.current is None:
            return []
        uid, self.current, self._gone_since = self.current, None, None
        return [(REMOVED, uid)]
