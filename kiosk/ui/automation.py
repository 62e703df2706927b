"""A command socket for the tests, the scripted demo, the screenshots and the benchmark.

Enabled only by ``kiosk --automation PATH``. Each line on the Unix socket is one JSON command;
it runs on the UI thread and gets one JSON line back. Cards and codes go through the simulated
reader and scanner (the path a real card takes), presses through Kivy's touch dispatch (the path
a finger takes). Commands:

- ``{"cmd": "card", "uid": HEX, "ndef": HEX}`` tap a card (laid on the reader, then taken away)
- ``{"cmd": "scan", "text": TEXT}`` scan a code
- ``{"cmd": "press", "aid": ID}`` / ``{"cmd": "type", "aid": ID, "text": TEXT}`` touch a button, fill a field
- ``{"cmd": "settle"}`` answer once the ledger worker is idle and a frame has been drawn
- ``{"cmd": "state", "all_screens": BOOL}`` the screen, the texts on it, overflowing, shortened, wrapped or
  overlapping texts, small targets
- ``{"cmd": "screenshot", "path": FILE}`` save what the display shows
- ``{"cmd": "quit"}``
"""
from __future__ import annotations

import json
import logging
import resource
import socketserver
import threading
from pathlib import Path

from kivy.clock import Clock
from kivy.core.window import Window
from kivy.graphics.opengl import GL_RGB, GL_UNSIGNED_BYTE, glReadPixels

from . import widget_tree
from .i18n import tr

log = logging.getLogger(__name__)
REPLY_TIMEOUT_S = 60


class AutomationError(Exception):
    pass


class AutomationServer:
    def __init__(self, app, path: str):
        self.app, self.path = app, path
        self._server: socketserver.UnixStreamServer | None = None

    def start(self) -> None:
        Path(self.path).unlink(missing_ok=True)
        server = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                for line in self.rfile:
                    reply = server.call(json.loads(line))
                    self.wfile.write(json.dumps(reply, ensure_ascii=False).encode() + b"\n")

        self._server = socketserver.ThreadingUnixStreamServer(self.path, Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="automation", daemon=True).start()
        log.info("automation socket at %s", self.path)

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            Path(self.path).unlink(missing_ok=True)

    def call(self, command: dict) -> dict:
        """Run one command on the UI thread and wait for its answer (from the socket's thread)."""
        done = threading.Event()
        box: dict = {}

        def reply(value=None, error=None):
            box.update(ok=error is None, result=value, error=error)
            done.set()

        def run(_dt):
            try:
                self.execute(command, reply)
            except Exception as exc:  # noqa: BLE001 - a bad command is answered, never fatal
                log.exception("automation command %s failed", command.get("cmd"))
                reply(error=f"{type(exc).__name__}: {exc}")
        Clock.schedule_once(run, 0)
        if not done.wait(REPLY_TIMEOUT_S):
            return {"ok": False, "error": "timed out"}
        return box

    # -- the commands (on the UI thread) --------------------------------------------------------
    def execute(self, command: dict, reply) -> None:
        ctl, cmd = self.app.ctl, command["cmd"]
        if cmd == "card":
            reader = ctl.sim_device(ctl.ctx.nfc)
            if reader is None:
                raise AutomationError("no sim: NFC reader configured")
            ndef = bytes.fromhex(command["ndef"]) if command.get("ndef") else None
            reader.present_card(command["uid"], ndef)
            reader.remove_card()
            reply(True)
        elif cmd == "scan":
            scanner = ctl.sim_device(ctl.ctx.scanners)
            if scanner is None:
                raise AutomationError("no sim: scanner configured")
            scanner.scan(command["text"])
            reply(True)
        elif cmd == "press":
            widget, at = self._widget(command["aid"])
            widget_tree.tap(widget, at, lambda: reply(True))
        elif cmd == "type":
            field, _at = self._widget(command["aid"])
            field.text = command["text"]
            reply(True)
        elif cmd == "settle":
            self._settle(reply)
        elif cmd == "state":
            reply(self.state(command.get("all_screens", False)))
        elif cmd == "screenshot":
            self._screenshot(command["path"], reply)
        elif cmd == "quit":
            reply(True)
            Clock.schedule_once(lambda _dt: self.app.stop(), 0.1)
        else:
            raise AutomationError(f"unknown command {cmd!r}")

    def _widget(self, aid: str):
        for root in reversed(Window.children):      # overlays first: they cover the screen
            found = widget_tree.find(root, aid)
            if found is not None:
                return found
        raise AutomationError(f"nothing visible with aid {aid!r} on {self.app.sm.current}")

    def state(self, all_screens: bool) -> dict:
        ctl = self.app.ctl
        roots = list(Window.children)
        shown = [t for root in reversed(roots) for t in widget_tree.texts(root)]
        state = {"screen": self.app.sm.current, "texts": shown, "language": tr.lang,
                 "overlay": len(roots) > 1, "overflow": [t for r in roots for t in widget_tree.overflowing(r)],
                 "shortened": [t for r in roots for t in widget_tree.shortened(r)],
                 "overlaps": [t for r in roots for t in widget_tree.overlapping(r)],
                 "wrapped": [t for r in roots for t in widget_tree.wrapped(r)],
                 "small_targets": [t for r in roots for t in widget_tree.small_targets(r)],
                 "member": ctl.visit.member is not None,
                 "staff": ctl.visit.staff["staff_id"] if ctl.visit.staff else None,
                 "tap_ms": ctl.tap_ms, "rss_kb": _rss_kb(), "size": list(Window.size)}
        if all_screens:
            state["all_texts"] = [t for screen in self.app.sm.screens for t in _all_texts(screen)]
        return state

    def _settle(self, reply) -> None:
        """Answer after two quiet frames in a row (no device event or ledger job pending), then one
        drawn frame: by then every result has reached the screen."""
        quiet = {"frames": 0}

        def check(_dt):
            busy = self.app.ctl.worker.busy or self.app.ctl.pump.busy
            quiet["frames"] = 0 if busy else quiet["frames"] + 1
            if quiet["frames"] < 2:
                Clock.schedule_once(check, 0)
                return

            def flipped(*_args):
                Window.unbind(on_flip=flipped)
                reply(True)
            Window.bind(on_flip=flipped)
            Window.canvas.ask_update()
        Clock.schedule_once(check, 0)

    def _screenshot(self, path: str, reply) -> None:
        """Read the framebuffer right after a frame is drawn (before that it may be stale or black).

        The physical (system) size is read, so a rotated screen is saved as the panel shows it.
        """
        def flipped(*_args):
            Window.unbind(on_flip=flipped)
            width, height = Window.system_size
            pixels = glReadPixels(0, 0, width, height, GL_RGB, GL_UNSIGNED_BYTE)
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Window._win.save_bytes_in_png(str(path), pixels, width, height)
            reply(path)
        Window.bind(on_flip=flipped)
        Window.canvas.ask_update()


def _all_texts(widget) -> list[str]:
    """Every text in a widget tree, shown or not (to prove a member's data is gone everywhere)."""
    own = [widget.text] if isinstance(getattr(widget, "text", None), str) and widget.text.strip() else []
    return own + [t for child in widget.children for t in _all_texts(child)]


def _rss_kb() -> int:
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
