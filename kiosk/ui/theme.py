"""Colours, type sizes, the CJK font every text is drawn with, and the icon font.

Text is set in Noto Sans CJK SC (Debian ``fonts-noto-cjk``) with its real Bold. The package ships
collections (``.ttc``) whose face 0 is the Japanese cut, and Kivy's SDL2 text provider opens face
0 only, so the Simplified-Chinese face (index 2: JP, KR, SC, TC, HK) is copied out of each
collection once with fontTools into a cache (a few seconds on first start; systemd's
``CacheDirectory`` on a device, ``~/.cache/kiosk/fonts`` elsewhere). Without Noto or fontTools the
app falls back to WenQuanYi Micro Hei (``fonts-wqy-microhei``, face 0 is Simplified Chinese; no
bold). Icons come from Debian's ``fonts-font-awesome`` (Font Awesome 4.7), registered as ``Icons``.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

NOTO_DIR = Path("/usr/share/fonts/opentype/noto")
NOTO_SC_FACE = 2                                  # JP, KR, SC, TC, HK, then the Mono cuts
WQY_FONTS = (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
             Path("/usr/share/fonts/wqy-microhei/wqy-microhei.ttc"))
ICON_FONT = Path("/usr/share/fonts/truetype/font-awesome/fontawesome-webfont.ttf")
ICONS = {"card": "\uf09d", "qrcode": "\uf029", "offline": "\uf127", "gift": "\uf06b", "star": "\uf005",
         "birthday": "\uf1fd", "calendar": "\uf073"}

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


def font_cache() -> Path:
    """systemd's CacheDirectory= on a device, else the user's cache."""
    if os.environ.get("CACHE_DIRECTORY"):
        return Path(os.environ["CACHE_DIRECTORY"]) / "fonts"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kiosk" / "fonts"


def noto_sc(weight: str, cache: Path) -> Path | None:
    """The Simplified-Chinese face of Noto Sans CJK ``weight`` as a font file Kivy can open."""
    collection = NOTO_DIR / f"NotoSansCJK-{weight}.ttc"
    target = cache / f"NotoSansCJKsc-{weight}.otf"
    if target.exists() and target.stat().st_mtime >= collection.stat().st_mtime:
        return target
    from fontTools.ttLib import TTCollection

    cache.mkdir(parents=True, exist_ok=True)
    face = TTCollection(str(collection), lazy=True).fonts[NOTO_SC_FACE]
    if "SC" not in face["name"].getDebugName(1):
        raise ValueError(f"face {NOTO_SC_FACE} of {collection} is {face['name'].getDebugName(1)}, not SC")
    with tempfile.NamedTemporaryFile(dir=cache, suffix=".part", delete=False) as part:
        face.save(part)                               # then renamed: a parallel start never reads half a file
    os.replace(part.name, target)
    return target


def register_font(cache: Path | None = None) -> str | None:
    """Make the CJK font Kivy's default (and the icon font ``Icons``); returns the regular face used
    (None: Kivy's own, Latin only)."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    if ICON_FONT.exists():
        LabelBase.register("Icons", str(ICON_FONT))
    else:
        log.warning("no icon font (install fonts-font-awesome); icons show as boxes")
    try:
        regular, bold = (noto_sc(weight, cache or font_cache()) for weight in ("Regular", "Bold"))
        LabelBase.register(DEFAULT_FONT, fn_regular=str(regular), fn_bold=str(bold))
        return str(regular)
    except (OSError, ImportError, ValueError) as exc:
        log.warning("Noto Sans CJK SC not used (%s); falling back to WenQuanYi", exc)
    for path in WQY_FONTS:
        if path.exists():
            LabelBase.register(DEFAULT_FONT, fn_regular=str(path), fn_bold=str(path))
            return str(path)
    log.warning("no Simplified-Chinese font found (install fonts-noto-cjk or fonts-wqy-microhei); Chinese shows as boxes")
    return None


def scale_for(width: int, height: int) -> float:
    """Type and targets grow with the screen (800x480 is 1.0), never shrink below it."""
    return max(1.0, min(width / 800, height / 480, 1.8))
