"""``python -m kiosk.ui.screenshots --out docs/screenshots``: every screen, in both languages, in
every layout the kiosk supports.

Runs the scripted tour (:mod:`kiosk.ui.tour`) in ``kiosk --simulate`` on a private Xvfb display
and saves ``LAYOUT/NN-screen-LANG.png`` (layouts: ``800x480``, ``1280x800`` and ``portrait``, the
7" panel turned 90°); prints the stops where text spills out of its box, is cut short or two texts overlap, or a
target is smaller than 48 px, and exits 1 if there are any.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from .catalog import LANGUAGES
from .remote import Kiosk, virtual_display
from .tour import tour


def take(out: Path, languages=LANGUAGES, size: str = "800x480", rotation: int = 0) -> list[dict]:
    """Screenshots of the whole tour for each language; returns every stop's state."""
    out.mkdir(parents=True, exist_ok=True)
    seen = []
    with virtual_display() as display, tempfile.TemporaryDirectory(prefix="kiosk-shots-") as var:
        for lang in languages:
            args = ["--language", lang, "--size", size, "--rotation", str(rotation)]
            with Kiosk(Path(var) / lang, display=display, args=args) as kiosk:
                seen += [{**s, "language": lang} for s in tour(kiosk, out, suffix=f"-{lang}")]
    return seen


LAYOUTS = {"800x480": ("800x480", 0), "1280x800": ("1280x800", 0), "portrait": ("800x480", 90)}


def take_all(out: Path, layouts=tuple(LAYOUTS)) -> list[dict]:
    """Every layout into its own folder; each stop's state names its layout."""
    return [{**s, "layout": name} for name in layouts
            for s in take(out / name, size=LAYOUTS[name][0], rotation=LAYOUTS[name][1])]


def problems(seen: list[dict]) -> list[str]:
    return [f"{s.get('layout', '')}/{s['stop']} ({s['language']}): {kind} {items}" for s in seen
            for kind in ("overflow", "shortened", "wrapped", "overlaps", "small_targets") if (items := s[kind])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kiosk-screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots")
    parser.add_argument("--layout", action="append", choices=tuple(LAYOUTS),
                        help="only this layout (repeatable); default: all of them")
    args = parser.parse_args(argv)
    seen = take_all(Path(args.out), tuple(args.layout or LAYOUTS))
    print(f"{len(seen)} screenshots in {args.out}")
    for line in problems(seen):
        print("problem:", line)
    return 1 if problems(seen) else 0


if __name__ == "__main__":
    sys.exit(main())
