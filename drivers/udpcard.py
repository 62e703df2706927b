"""A Type 3 (FeliCa) tag emulated over nfcpy's UDP link, in its own process.

Tests, the benchmark and technicians use it to drive the real nfcpy reader stack
(``nfc:udp:HOST:PORT``) without a card. A card is "on the reader" while its process
emulates, and "taken away" when the process ends: the reader then stops getting answers,
just as with a real card. Run: ``python -m drivers.udpcard PORT [NDEF_HEX] [--idm HEX]``,
then send a line ``tap`` on stdin; it prints ``listening T``, ``activated T`` and ``cmd T``
lines (T = time.monotonic(), comparable across processes on Linux).
"""
from __future__ import annotations

import argparse
import os
import struct
import subprocess
import sys
import threading
import time

DEFAULT_IDM = "03FEFFE011223344"        # 03FE: an NFC Forum Type 3 tag; the rest is arbitrary
PMM = "01E0000000FFFF00"
SYSTEM_CODE = "12FC"                    # NDEF system code


def tt3_memory(ndef: bytes, blocks_per_read: int = 4) -> bytearray:
    """Attribute block + NDEF data blocks, as NFC Forum Type 3 Tag mapping lays them out."""
    nmaxb = max(1, (len(ndef) + 15) // 16)
    attr = bytearray(16)
    attr[0], attr[1], attr[2] = 0x10, blocks_per_read, 0       # version 1.0, read-only
    attr[3:5] = struct.pack(">H", nmaxb)
    attr[11:14] = struct.pack(">I", len(ndef))[1:]
    attr[14:16] = struct.pack(">H", sum(attr[:14]))
    return attr + bytearray(ndef) + bytearray(nmaxb * 16 - len(ndef))


def emulate(port: int, idm: str, ndef: bytes, host: str = "127.0.0.1") -> None:
    """Answer a reader on *port* until killed (the card stays on the reader)."""
    import nfc

    memory = tt3_memory(ndef)

    def say(what: str) -> None:
        print(f"{what} {time.monotonic():.6f}", flush=True)

    def on_startup(target):
        target.brty = "212F"
        target.sensf_res = bytearray.fromhex("01" + idm + PMM + SYSTEM_CODE)
        return target

    def read_block(number, rb, re):
        if number < len(memory) // 16:
            return memory[number * 16:(number + 1) * 16]
        return None

    def on_connect(tag):
        say("activated")
        process = tag.process_command

        def counted(cmd):
            say("cmd")
            return process(cmd)

        tag.process_command = counted
        tag.add_service(0x000B, read_block, None)
        tag.add_service(0x0009, read_block, None)
        return True

    clf = nfc.ContactlessFrontend(f"udp:{host}:{port}")
    say("listening")
    # on-release returns False so that after an RF-off (a reader re-polling) the card listens again,
    # and the long listen timeout avoids a re-listen racing the reader's first command.
    clf.connect(card={"on-startup": on_startup, "on-connect": on_connect,
                      "on-release": lambda tag: False, "timeout": 3600.0})


class UdpCard:
    """Controls one emulated card process: ``present()`` puts it on the reader, ``remove()`` takes it away."""

    def __init__(self, port: int, ndef: bytes = b"", idm: str = DEFAULT_IDM, host: str = "127.0.0.1"):
        self.uid = bytes.fromhex(idm)
        self.listening_at: float | None = None
        self.activated_at: float | None = None
        self.commands: list[float] = []
        self._ready = threading.Event()
        self._listening = threading.Event()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "drivers.udpcard", str(port), ndef.hex(), "--idm", idm, "--host", host],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        self._reader = threading.Thread(target=self._read_lines, daemon=True)
        self._reader.start()
        if not self._ready.wait(30):
            self.remove()
            raise RuntimeError("card emulator did not start")

    def _read_lines(self) -> None:
        for line in self.proc.stdout:
            what, _, at = line.strip().partition(" ")
            if what == "ready":
                self._ready.set()
            elif what == "listening":
                self.listening_at = float(at)
                self._listening.set()
            elif what == "activated" and self.activated_at is None:
                self.activated_at = float(at)
            elif what == "cmd":
                self.commands.append(float(at))

    def present(self) -> float:
        """Put the card on the reader; returns the monotonic time it started answering."""
        self.proc.stdin.write("tap\n")
        self.proc.stdin.flush()
        if not self._listening.wait(10):
            raise RuntimeError("card emulator did not start listening")
        return self.listening_at

    def remove(self) -> None:
        """Take the card away; afterwards its ``activated_at`` and ``commands`` are complete."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(5)
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def __enter__(self) -> "UdpCard":
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m drivers.udpcard", description=__doc__.split("\n")[0])
    parser.add_argument("port", type=int)
    parser.add_argument("ndef", nargs="?", default="", help="NDEF message as hex")
    parser.add_argument("--idm", default=DEFAULT_IDM, help="the card's 8-byte IDm (its UID) as hex")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)
    import nfc  # noqa: F401 - loaded before "ready" so a tap is not delayed by the import

    print("ready", flush=True)
    if sys.stdin.readline().strip() == "tap":
        emulate(args.port, args.idm, bytes.fromhex(args.ndef), args.host)


if __name__ == "__main__":
    main()
