"""Looking at and touching the live widget tree, for the automation interface.

A touch is a real Kivy MotionEvent posted to the event loop, so it goes through the same
dispatch (and the same window rotation) as a finger on the screen. The checks here are what a
person would notice: texts they can see, text spilling out of its box, targets too small to hit.
"""
from __future__ import annotations

import itertools
from typing import Iterator

from kivy.base import EventLoop
from kivy.clock import Clock
from kivy.core.text.text_layout import layout_text
from kivy.input.motionevent import MotionEvent
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.scrollview import ScrollView
from kivy.uix.stencilview import StencilView
from kivy.uix.textinput import TextInput

from .theme import MIN_TOUCH

_ids = itertools.count(1000)


def _box(widget) -> tuple[float, float, float, float]:
    x0, y0 = widget.to_window(widget.x, widget.y)
    x1, y1 = widget.to_window(widget.right, widget.top)
    return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)


def _shown(box, clip) -> bool:
    return box[0] < clip[2] - 1 and box[2] > clip[0] + 1 and box[1] < clip[3] - 1 and box[3] > clip[1] + 1


def _walk(root, clip) -> Iterator[tuple]:
    if root.opacity <= 0 or root.width <= 1 or root.height <= 1:
        return
    box = _box(root)
    if not _shown(box, clip):
        return
    yield root, (max(box[0], clip[0]), max(box[1], clip[1]), min(box[2], clip[2]), min(box[3], clip[3]))
    if isinstance(root, StencilView):
        clip = (max(clip[0], box[0]), max(clip[1], box[1]), min(clip[2], box[2]), min(clip[3], box[3]))
    for child in reversed(root.children):
        yield from _walk(child, clip)


def visible(root) -> Iterator:
    """Every widget under ``root`` that is on screen: not transparent, not empty, not scrolled away."""
    win = EventLoop.window
    return (widget for widget, _part in _walk(root, (0, 0, win.width, win.height)))


def texts(root) -> list[str]:
    return [w.text for w in visible(root) if isinstance(w, (Label, TextInput)) and w.text.strip()]


def find(root, aid: str) -> tuple | None:
    """The visible button or text field named ``aid`` (a list row shares its button's aid), and the
    centre of the part of it that shows (a half-scrolled list button is touched where it can be)."""
    win = EventLoop.window
    for widget, (x0, y0, x1, y1) in _walk(root, (0, 0, win.width, win.height)):
        if isinstance(widget, (Button, TextInput)) and getattr(widget, "aid", None) == aid:
            return widget, ((x0 + x1) / 2, (y0 + y1) / 2)
    return None


def overflowing(root) -> list[str]:
    """Labels whose rendered text is bigger than the box they are given (it would spill or overlap)."""
    out = []
    for w in visible(root):
        if isinstance(w, Label) and w.text.strip():
            tw, th = w.texture_size
            if tw > w.width + 2 or th > w.height + 2:
                out.append(w.text)
    return out


def shortened(root) -> list[str]:
    """Labels cut short with an ellipsis because their box is too narrow."""
    return [w.text for w in visible(root) if isinstance(w, Label) and w.shorten and w.is_shortened]


def _one_line(label) -> bool:
    """Buttons, and labels given one line (titles, amounts, list rows): text wrapped there reads as
    two words, a word cut in two ("Delet / e") or a figure split from its unit."""
    return isinstance(label, Button) or label.max_lines == 1


def _lines_needed(label) -> int:
    """How many lines the label's text takes at its width with no line limit, by Kivy's own layout
    (a label that may show fewer lines stops there, so its texture cannot tell)."""
    core = label._label
    options = dict(core.options, max_lines=0, shorten=False, space_width=core.get_extents(" ")[0])
    options["strip"] = strip = options["strip"] or options["halign"] == "justify"
    lines: list = []
    text = label.text.strip() if strip else label.text
    layout_text(text, lines, (0, 0), (label.text_size[0], None), options, core.get_cached_extents(), True, True)
    return len(lines)


def wrapped(root) -> list[str]:
    """One-line labels whose text wraps into more lines than it has: each explicit line must fit."""
    return [w.text for w in visible(root) if isinstance(w, Label) and w.text.strip() and not w.markup
            and w.text_size[0] is not None and _one_line(w) and _lines_needed(w) > len(w.text.strip().split("\n"))]


def _text_box(label, part) -> tuple[float, float, float, float] | None:
    """Where a label's glyphs are drawn (from its laid-out lines and alignment), within ``part``."""
    lines = getattr(label._label, "_cached_lines", None) or []
    tw = max((line.w for line in lines), default=label.texture_size[0])
    th = sum(line.h for line in lines) or label.texture_size[1]
    x0, y0, x1, y1 = _box(label)
    px, py = label.padding[0], label.padding[1]
    left = {"left": x0 + px, "right": x1 - px - tw}.get(label.halign, (x0 + x1 - tw) / 2)
    bottom = {"top": y1 - py - th, "bottom": y0 + py}.get(label.valign, (y0 + y1 - th) / 2)
    box = (max(left, part[0]), max(bottom, part[1]), min(left + tw, part[2]), min(bottom + th, part[3]))
    return box if box[2] > box[0] and box[3] > box[1] else None


def _related(a, b) -> bool:
    """One inside the other (a button's own label): their texts are meant to share the space."""
    return any(w is b for w in a.walk(restrict=True)) or any(w is a for w in b.walk(restrict=True))


def overlapping(root) -> list[str]:
    """Pairs of visible texts whose glyphs cover each other by more than 2 px either way."""
    win = EventLoop.window
    shown = [(w, box) for w, part in _walk(root, (0, 0, win.width, win.height))
             if isinstance(w, Label) and w.text.strip() and (box := _text_box(w, part))]
    return [f"{a.text!r} / {b.text!r}" for (a, ra), (b, rb) in itertools.combinations(shown, 2)
            if min(ra[2], rb[2]) - max(ra[0], rb[0]) > 2 and min(ra[3], rb[3]) - max(ra[1], rb[1]) > 2
            and not _related(a, b)]


def small_targets(root) -> list[str]:
    """Enabled buttons smaller than a fingertip (48 px either way)."""
    return [f"{getattr(w, 'aid', '') or w.text} {int(w.width)}x{int(w.height)}" for w in visible(root)
            if isinstance(w, Button) and not w.disabled and min(w.width, w.height) < MIN_TOUCH]


class Finger(MotionEvent):
    """One touch at a window position, normalised the way the window's rotation expects."""

    def __init__(self, x: float, y: float):
        win = EventLoop.window
        w, h = win._get_effective_size()
        xm, ym = max(1, w - 1), max(1, h - 1)
        sx, sy = {0: (x / xm, y / ym), 90: (1 - y / xm, x / ym), 180: (1 - x / xm, 1 - y / ym),
                  270: (y / xm, 1 - x / ym)}[win.rotation]
        super().__init__("automation", next(_ids), {"sx": sx, "sy": sy}, is_touch=True, type_id="touch")
        self.profile = ["pos"]

    def depack(self, args):
        self.sx, self.sy = args["sx"], args["sy"]
        super().depack(args)


def _in_scroller(widget):
    while widget is not None and widget.parent is not widget:
        if isinstance(widget, ScrollView):
            return widget
        widget = widget.parent
    return None


def tap(widget, at: tuple[float, float], done) -> None:
    """Press and release at ``at`` (window coordinates), through the event loop; then call ``done``.

    In a scrolling list the finger is held just past the list's scroll timeout, as a deliberate
    tap is: a quicker one is handed to the button only 0.2 s after the release.
    """
    finger = Finger(*at)
    EventLoop.post_dispatch_input("begin", finger)

    def release(_dt=None):
        EventLoop.post_dispatch_input("end", finger)
        done()
    scroller = _in_scroller(widget)
    if scroller is None:
        release()
    else:
        Clock.schedule_once(release, scroller.scroll_timeout / 1000 + 0.05)
