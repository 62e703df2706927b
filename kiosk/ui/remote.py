"""Running the kiosk app in another process and driving it through its automation socket.

Used by the UI tests, the scripted demo, the screenshots and the benchmark: one Kivy App per
process, so each of them starts ``kiosk --simulate`` as a child (on a private Xvfb display
when asked, or when there is no display) and talks to it over a Unix socket.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

START_TIMEOUT_S = 60


class RemoteError(RuntimeError):
    pass


@contextmanager
def virtual_display(size: str = "1280x800") -> Iterator[str]:
    """A private Xvfb server on a free display number (Xvfb picks it: ``-displayfd``)."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", f"{size}x24", "-nolisten", "tcp",
                             "-noreset"], pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    try:
        with os.fdopen(read) as fh:
            number = fh.readline().strip()
        if not number:
            raise RemoteError("Xvfb did not start (is the xvfb package installed?)")
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


class Kiosk:
    """A running ``kiosk --simulate --automation`` process."""

    def __init__(self, var: Path, *, display: str | None = None, args: list[str] = (), config: str | None = None,
                 log: Path | None = None):
        self.var = Path(var)
        self.var.mkdir(parents=True, exist_ok=True)
        self._sock_dir = tempfile.mkdtemp(prefix="kiosk-")     # short: a socket path has at most 107 bytes
        self.sock_path = os.path.join(self._sock_dir, "automation.sock")
        env = {**os.environ, "KIVY_NO_ARGS": "1"}
        if display:
            env["DISPLAY"] = display
        command = [sys.executable, "-m", "kiosk.app", "--simulate", "--var", str(self.var),
                   "--automation", self.sock_path, *args] + (["--config", config] if config else [])
        self.log_path = log or self.var / "kiosk.log"
        self.started = time.monotonic()
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            self._file = self._connect()
        except RemoteError:
            self.proc.kill()
            self.proc.wait()
            shutil.rmtree(self._sock_dir, ignore_errors=True)
            raise

    def _connect(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RemoteError(f"kiosk exited with {self.proc.returncode}; see {self.log_path}")
            try:
                sock = socket.socket(socket.AF_UNIX)
                sock.connect(self.sock_path)
                return sock.makefile("rwb")
            except OSError:
                sock.close()
                time.sleep(0.05)
        raise RemoteError(f"kiosk did not open its automation socket; see {self.log_path}")

    def call(self, cmd: str, **fields):
        self._file.write(json.dumps({"cmd": cmd, **fields}).encode() + b"\n")
        self._file.flush()
        line = self._file.readline()
        if not line:
            raise RemoteError(f"kiosk closed the connection; see {self.log_path}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise RemoteError(f"{cmd}: {reply['error']}")
        return reply["result"]

    # -- what a person does ---------------------------------------------------------------------
    def tap(self, card) -> None:
        """Tap a demo card (see kiosk.demo_data) on the simulated reader."""
        self.call("card", uid=card.uid.hex(), ndef=card.ndef.hex())
        self.settle()

    def scan(self, text: str) -> None:
        self.call("scan", text=text)
        self.settle()

    def press(self, *aids: str) -> None:
        for aid in aids:
            self.call("press", aid=aid)
            self.settle()

    def type(self, aid: str, text: str) -> None:
        self.call("type", aid=aid, text=text)
        self.settle()

    def sign_in(self, card, pin: str) -> None:
        """A staff card tap, the PIN on the keypad, Sign in."""
        self.tap(card)
        self.keys(pin)
        self.press("sign-in")

    def keys(self, digits: str) -> None:
        """Type on the on-screen keypad, e.g. "300.00"."""
        self.press(*(f"key-{k}" for k in digits))

    # -- what a person sees ---------------------------------------------------------------------
    def settle(self) -> None:
        self.call("settle")

    def state(self, all_screens: bool = False) -> dict:
        return self.call("state", all_screens=all_screens)

    def text(self) -> str:
        """Everything on the display as one string, for "does the screen show X" checks."""
        return "\n".join(self.state()["texts"])

    def wait_for(self, check: Callable[[dict], bool], timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            self.settle()
            state = self.state()
            if check(state):
                return state
            if time.monotonic() > deadline:
                raise RemoteError(f"timed out waiting; last state: {state}")
            time.sleep(0.05)

    def screenshot(self, path: str | Path) -> str:
        return self.call("screenshot", path=str(path))

    def close(self) -> int:
        if self.proc.poll() is None:
            try:
                self.call("quit")
            except (RemoteError, OSError):
                pass
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._file.close()
        shutil.rmtree(self._sock_dir, ignore_errors=True)
        return self.proc.returncode

    def __enter__(self) -> "Kiosk":
        return self

    def __exit__(self, *_exc) -> None:
        self.close()
