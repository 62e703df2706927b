"""Keystrokes from a keyboard-wedge barcode scanner back into the text it scanned.

Pure (no device I/O) so it can be fed recorded `evdev.InputEvent` sequences in tests. US
layout with Shift, which is what scanners emulate out of the box; Enter or Tab ends a code.
"""
from __future__ import annotations

import logging

from evdev import ecodes as e

log = logging.getLogger(__name__)

_PAIRS = {
    e.KEY_1: "1!", e.KEY_2: "2@", e.KEY_3: "3#", e.KEY_4: "4$", e.KEY_5: "5%",
    e.KEY_6: "6^", e.KEY_7: "7&", e.KEY_8: "8*", e.KEY_9: "9(", e.KEY_0: "0)",
    e.KEY_MINUS: "-_", e.KEY_EQUAL: "=+", e.KEY_LEFTBRACE: "[{", e.KEY_RIGHTBRACE: "]}",
    e.KEY_BACKSLASH: "\\|", e.KEY_SEMICOLON: ";:", e.KEY_APOSTROPHE: "'\"", e.KEY_GRAVE: "`~",
    e.KEY_COMMA: ",<", e.KEY_DOT: ".>", e.KEY_SLASH: "/?", e.KEY_SPACE: "  ",
    e.KEY_KPMINUS: "--", e.KEY_KPPLUS: "++", e.KEY_KPASTERISK: "**", e.KEY_KPSLASH: "//",
    e.KEY_KPDOT: "..",
}
_PAIRS.update({getattr(e, f"KEY_{c.upper()}"): c + c.upper() for c in "abcdefghijklmnopqrstuvwxyz"})
_PAIRS.update({getattr(e, f"KEY_KP{d}"): d + d for d in "0123456789"})
KEYMAP: dict[int, tuple[str, str]] = {code: (pair[0], pair[1]) for code, pair in _PAIRS.items()}
SHIFTS = frozenset({e.KEY_LEFTSHIFT, e.KEY_RIGHTSHIFT})
TERMINATORS = frozenset({e.KEY_ENTER, e.KEY_KPENTER, e.KEY_TAB})
KEY_UP, KEY_DOWN = 0, 1      # 2 is autorepeat, which types the key again


class KeyDecoder:
    """Feed it every event from the device; it returns a code's text when its terminator arrives."""

    def __init__(self, max_length: int = 1024):
        self.max_length = max_length
        self._shift = 0
        self._chars: list[str] = []

    def feed(self, event) -> str | None:
        if event.type != e.EV_KEY:
            return None
        if event.code in SHIFTS:
            change = {KEY_DOWN: 1, KEY_UP: -1}.get(event.value, 0)
            self._shift = max(0, self._shift + change)
            return None
        if event.value == KEY_UP:
            return None
        if event.code in TERMINATORS:
            text, self._chars = "".join(self._chars), []
            return text or None
        pair = KEYMAP.get(event.code)
        if pair is None:
            log.debug("ignoring key code %d from scanner", event.code)
            return None
        if len(self._chars) >= self.max_length:
            log.warning("scanner sent more than %d characters without Enter; dropping them", self.max_length)
            self._chars = []
        self._chars.append(pair[1] if self._shift else pair[0])
        return None

    def reset(self) -> None:
        """Forget a half-typed code and any held Shift (the device went away mid-code)."""
        self._shift = 0
        self._chars = []
