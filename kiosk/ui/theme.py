"""Colours, type sizes and the CJK font every text is drawn with.

The default font is replaced by WenQuanYi Micro Hei (face 0 is Simplified Chinese) so that
Chinese names, tier names and the language button render in both languages, never as boxes.
"""
from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)

CJK_FONTS = (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
             Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"))

BACKGROUND = (0.96, 0.96, 0.94, 1)
SURFACE = (1, 1, 1, 1)
TEXT = (0.13, 0.14, 0.16, 1)
MUTED = (0.40, 0.42, 0.45, 1)
PRIMARY = (0.05, 0.42, 0.45, 1)
ACCENT = (0.90, 0.45, 0.10, 1)
DANGER = (0.75, 0.16, 0.16, 1)
OK = (0.16, 0.55, 0.25, 1)
DISABLED = (0.86, 0.87, 0.88, 1)
BANNER = (0.98, 0.86, 0.55, 1)

TOUCH = 56          # px at scale 1: every button is at least this tall (48 px is the floor)
MIN_TOUCH = 48


def register_font() -> str | None:
    """Make the CJK font Kivy's default; returns the file used (None: Kivy's own, Latin only)."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    for path in CJK_FONTS:
        if path.exists():
            LabelBase.register(DEFAULT_FONT, fn_regular=str(path), fn_bold=str(path))
            return str(path)
    log.warning("no Simplified-Chinese font found (install fonts-wqy-microhei); Chinese shows as boxes")
    return None


def scale_for(width: int, height: int) -> float:
    """Type and targets grow with the screen (800x480 is 1.0), never shrink below it."""
    return max(1.0, min(width / 800, height / 480, 1.8))
