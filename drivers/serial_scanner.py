"""Serial barcode scanners via pyserial: ``serial:/dev/ttyACM0?baud=9600&suffix=crlf``.

Also takes pyserial URLs (``serial:loop://``). Codes end with the configured suffix; a frame
split over several reads is joined, and a partial frame left hanging longer than ``idle_ms``
(a lost suffix, line noise) is dropped so it cannot corrupt the next scan.
"""
from __future__ import annotations

import logging
import time

from drivers.base import Driver
from drivers.events import CodeScanned
from drivers.url import DeviceUrl, DeviceUrlError, choice_option, int_option

log = logging.getLogger(__name__)

SUFFIXES = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n"}
READ_TIMEOUT_S = 0.2


class LineFramer:
    """Bytes in, scanned codes out; pure, with an explicit clock."""

    def __init__(self, suffix: bytes, idle: float, max_length: int = 4096):
        self.suffix, self.idle, self.max_length = suffix, idle, max_length
        self._buffer = b""
        self._last = 0.0

    def feed(self, data: bytes, now: float) -> list[str]:
        self.expire(now)
        if data:
            self._buffer += data
            self._last = now
        *frames, rest = self._buffer.split(self.suffix)
        self._buffer = rest.lstrip(b"\r\n")    # the LF of a CRLF sent to a port set for CR
        if len(self._buffer) > self.max_length:
            log.warning("serial scanner sent %d bytes without a suffix; dropping them", len(self._buffer))
            self._buffer = b""
        texts = (f.strip(b"\r\n").decode("utf-8", errors="replace") for f in frames)
        return [t for t in texts if t]

    def expire(self, now: float) -> None:
        """Drop a partial frame that has waited longer than *idle* for its suffix."""
        if self._buffer and now - self._last > self.idle:
            log.warning("dropping partial scan of %d bytes with no suffix after %.0f ms",
                        len(self._buffer), self.idle * 1000)
            self._buffer = b""


class SerialScanner(Driver):
    def __init__(self, url: DeviceUrl, queue):
        super().__init__(url, queue)
        if not url.target:
            raise DeviceUrlError(f"{url.text}: expected serial:/dev/ttyXXX or a pyserial URL")
        opts = url.take({"baud": "9600", "suffix": "cr", "idle_ms": "500"})
        self.baud = int_option(url, "baud", opts["baud"], 50, 4_000_000)
        suffix = SUFFIXES[choice_option(url, "suffix", opts["suffix"], tuple(SUFFIXES))]
        self.framer = LineFramer(suffix, int_option(url, "idle_ms", opts["idle_ms"], 10, 60_000) / 1000)
        self.port = None      # the open pyserial port (loopback tests write into it)

    def open(self):
        import serial

        self.port = serial.serial_for_url(self.url.target, baudrate=self.baud, timeout=READ_TIMEOUT_S)
        return self.port

    def close(self, port) -> None:
        self.port = None
        try:
            port.close()
        except OSError:
            pass

    def serve(self, port) -> None:
        while not self.stopping:
            data = port.read(max(1, port.in_waiting))
            for text in self.framer.feed(data, time.monotonic()):
                self.emit(CodeScanned, text=text)
