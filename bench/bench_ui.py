"""UI benchmark, printed as ONE JSON line: the real app (``kiosk --simulate``) on Xvfb, a million members.

- Tap to member screen drawn: p50/p95 over N taps of random members, measured inside the app from
  the simulated reader's event to the first frame flipped with the member on it (after a few
  warm-up taps that load glyphs). Next to it, the two things a tap cannot avoid, measured in the
  same run: the ledger read (``member_snapshot`` on the same file) and one frame at 60 fps.
- Cold start: from starting the process to the attract screen drawn and answering (median of 3).
- Resident memory after 1,000 taps, with the same figure for an empty Kivy window on the same
  display (the GL driver's share: Mesa's llvmpipe here, the GPU driver on a Pi).

Members are bulk-inserted with executemany straight into the ledger's tables (with one points
lot each); the demo members, staff and rules are seeded the ordinary way first.

Run: ``make bench-ui`` or ``.venv/bin/python bench/bench_ui.py [--members N] [--taps N]``.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kiosk import demo_data  # noqa: E402
from kiosk.ledger import Ledger  # noqa: E402
from kiosk.ui import services  # noqa: E402
from kiosk.ui.remote import Kiosk, virtual_display  # noqa: E402

BATCH = 50_000
WARM_UP = 5
EMPTY_WINDOW = """
from kivy.config import Config
Config.set("graphics", "width", "800")
Config.set("graphics", "height", "480")
from kivy.app import App
from kivy.clock import Clock
from kivy.uix.label import Label
class Empty(App):
    def build(self):
        Clock.schedule_once(lambda dt: self.stop(), 1.5)
        return Label(text="empty")
    def on_stop(self):
        print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmRSS")))
Empty().run()
"""


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def card_id(n: int) -> str:
    return f"77{n:010d}"


def build(path: Path, members: int) -> float:
    """The demo ledger plus ``members`` bulk-inserted members, each with a card and a points lot."""
    started = time.monotonic()
    demo_data.seed(path)
    led = Ledger(path)
    joined = "2026-01-01T00:00:00.000000Z"
    with led._write() as conn:
        for first in range(0, members, BATCH):
            rows = range(first, min(members, first + BATCH))
            conn.executemany("INSERT INTO members (member_id, name, phone, joined_at, tier, tier_since)"
                             " VALUES (?, ?, ?, ?, 'registered', ?)",
                             ((f"b{n:020d}", f"会员{n}", f"139{n:08d}", joined, joined) for n in rows))
            conn.executemany("INSERT INTO cards (card_id, member_id, status, issued_at) VALUES (?, ?, 'active', ?)",
                             ((card_id(n), f"b{n:020d}", joined) for n in rows))
            conn.executemany("INSERT INTO lots (lot_id, member_id, earned_at, expires_on, points, remaining)"
                             " VALUES (?, ?, ?, '2027-12-31', ?, ?)",
                             ((f"bulk-{n}:p", f"b{n:020d}", joined, n % 5000, n % 5000) for n in rows))
    led.close()
    return time.monotonic() - started


def ledger_read_ms(path: Path, cards: list[str]) -> list[float]:
    led = Ledger(path)
    times = []
    for card in cards:
        started = time.perf_counter()
        services.member_snapshot(led, card)
        times.append((time.perf_counter() - started) * 1000)
    led.close()
    return times


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:")) / 1024


SOFTWARE_GL = ("libLLVM", "swrast_dri", "kms_swrast_dri")   # Mesa's llvmpipe: Xvfb has no GPU


def software_gl_rss_mb(pid: int) -> float:
    """Resident pages of Mesa's software-renderer libraries, which a Pi's GPU driver (v3d) does not load."""
    total, counting = 0, False
    with open(f"/proc/{pid}/smaps") as fh:
        for line in fh:
            head = line.split()
            if head and not line[0].isupper():                       # a mapping's header line
                counting = len(head) > 5 and any(name in head[5] for name in SOFTWARE_GL)
            elif counting and head[0] == "Rss:":
                total += int(head[1])
    return total / 1024


def empty_window_rss_mb(display: str, folder: Path) -> float:
    """An 800x480 Kivy window with one label: what the GL stack and Kivy cost before any app."""
    folder.mkdir()
    (folder / "empty_window.py").write_text(EMPTY_WINDOW)
    env = {**os.environ, "DISPLAY": display, "KIVY_NO_ARGS": "1", "KIVY_HOME": str(folder), "KIVY_LOG_MODE": "PYTHON"}
    out = subprocess.run([sys.executable, str(folder / "empty_window.py")], env=env, capture_output=True, text=True,
                         check=True)
    return int(out.stdout.split()[-1]) / 1024


def cold_start_s(var: Path, display: str, db: Path) -> float:
    """Process start to the attract screen drawn and answering automation commands."""
    kiosk = Kiosk(var, display=display, args=["--db", str(db)])
    kiosk.settle()
    seconds = time.monotonic() - kiosk.started
    kiosk.close()
    return seconds


def tap(kiosk: Kiosk, card: str) -> None:
    uid = bytes.fromhex("05") + int(card).to_bytes(6, "big")
    token = demo_data.DemoCard("bench", card, uid).ndef
    kiosk.call("card", uid=uid.hex(), ndef=token.hex())
    kiosk.settle()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--taps", type=int, default=200)
    parser.add_argument("--memory-taps", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as tmp, virtual_display() as display:
        db = Path(tmp) / "ledger.db"
        build_s = build(db, args.members)
        sample = [card_id(rng.randrange(args.members)) for _ in range(args.taps)]
        reads = ledger_read_ms(db, sample)
        starts = [cold_start_s(Path(tmp) / f"cold{i}", display, db) for i in range(3)]
        empty_rss = empty_window_rss_mb(display, Path(tmp) / "empty")
        with Kiosk(Path(tmp) / "run", display=display, args=["--db", str(db)]) as kiosk:
            for card in (card_id(rng.randrange(args.members)) for _ in range(WARM_UP)):
                tap(kiosk, card)
                kiosk.press("done")
            latencies = []
            for card in sample:
                tap(kiosk, card)
                state = kiosk.state()
                assert state["screen"] == "member", state
                latencies.append(state["tap_ms"])
                kiosk.press("done")
            for _ in range(max(0, args.memory_taps - args.taps - WARM_UP)):
                tap(kiosk, card_id(rng.randrange(args.members)))
            memory = rss_mb(kiosk.proc.pid)
            software_gl = software_gl_rss_mb(kiosk.proc.pid)
    print(json.dumps({
        "members": args.members, "build_s": round(build_s, 1), "taps": len(latencies), "warm_up_taps": WARM_UP,
        "tap_to_member_drawn_ms": {"p50": round(pct(latencies, 50), 1), "p95": round(pct(latencies, 95), 1),
                                   "max": round(max(latencies), 1)},
        "target_p95_ms": 50,
        "ledger_read_ms": {"p50": round(pct(reads, 50), 2), "p95": round(pct(reads, 95), 2)},
        "frame_ms_at_60fps": round(1000 / 60, 1),
        "ratio_p95_to_read_plus_frame": round(pct(latencies, 95) / (pct(reads, 95) + 1000 / 60), 2),
        "cold_start_s": round(statistics.median(starts), 2),
        "rss_mb_after_taps": round(memory, 1), "memory_taps": max(args.memory_taps, args.taps + WARM_UP),
        "target_rss_mb": 150, "empty_kivy_window_rss_mb": round(empty_rss, 1),
        "app_rss_above_empty_window_mb": round(memory - empty_rss, 1),
        "software_gl_rss_mb": round(software_gl, 1), "rss_mb_without_software_gl": round(memory - software_gl, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
