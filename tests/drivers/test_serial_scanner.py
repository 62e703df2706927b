"""Serial scanners over real pty pairs (closing the master is an unplug) and pyserial's loop://."""
import os
import time

import pytest

from drivers import open_device
from drivers.events import CodeScanned, DeviceBack, DeviceLost
from drivers.serial_scanner import LineFramer


class Pty:
    """A pty whose slave is reached through a stable symlink, like /dev/serial/by-id/..."""

    def __init__(self, link):
        self.link = link
        self.plug()

    def plug(self):
        self.master, slave = os.openpty()
        name = os.ttyname(slave)
        os.close(slave)
        if os.path.lexists(self.link):
            os.unlink(self.link)
        os.symlink(name, self.link)

    def unplug(self):
        os.close(self.master)

    def send(self, data: bytes):
        os.write(self.master, data)


@pytest.fixture
def pty(tmp_path):
    port = Pty(str(tmp_path / "ttyACM0"))
    yield port
    try:
        port.unplug()
    except OSError:
        pass


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


@pytest.mark.parametrize("suffix, ending", [("cr", b"\r"), ("lf", b"\n"), ("crlf", b"\r\n")])
def test_each_suffix_ends_a_code(pty, events, expect, suffix, ending):
    scanner = open_device(f"serial:{pty.link}?suffix={suffix}", events)
    scanner.start()
    assert wait_for(lambda: scanner.state == "ok")
    pty.send(b"4006381333931" + ending + b"KC1:X:1:ABC" + ending)
    assert expect(CodeScanned).text == "4006381333931"
    assert expect(CodeScanned).text == "KC1:X:1:ABC"
    scanner.stop()


def test_a_code_split_over_reads_is_joined_and_a_stale_fragment_dropped(pty, events, expect):
    scanner = open_device(f"serial:{pty.link}?suffix=crlf&idle_ms=200", events)
    scanner.start()
    assert wait_for(lambda: scanner.state == "ok")
    pty.send(b"0360002")
    time.sleep(0.01)
    pty.send(b"91452\r")
    time.sleep(0.01)
    pty.send(b"\n")
    assert expect(CodeScanned).text == "036000291452"
    pty.send(b"GARBAGE")          # noise, then nothing: must not stick to the next scan
    time.sleep(1.0)
    pty.send(b"123\r\n")
    assert expect(CodeScanned).text == "123"
    scanner.stop()


def test_unplug_then_replug_reconnects(pty, events, expect):
    scanner = open_device(f"serial:{pty.link}?suffix=cr", events)
    scanner.start()
    assert wait_for(lambda: scanner.state == "ok")
    pty.unplug()
    assert expect(DeviceLost).reason == "disconnected"
    assert wait_for(lambda: scanner.state == "missing")
    pty.plug()
    expect(DeviceBack, timeout=10)
    pty.send(b"after replug\r")
    assert expect(CodeScanned).text == "after replug"
    scanner.stop()


def test_missing_at_start_then_plugged_in(tmp_path, events, expect):
    link = str(tmp_path / "ttyUSB0")
    scanner = open_device(f"serial:{link}", events)
    scanner.start()
    assert expect(DeviceLost).reason == "missing"
    assert scanner.state == "missing" and link in scanner.detail
    port = Pty(link)
    expect(DeviceBack, timeout=10)
    port.send(b"hello\r")
    assert expect(CodeScanned).text == "hello"
    scanner.stop()
    port.unplug()


def test_loopback_url(events, expect):
    scanner = open_device("serial:loop://?suffix=lf&baud=115200", events)
    scanner.start()
    assert wait_for(lambda: scanner.port is not None)
    scanner.port.write(b"loop\n")
    assert expect(CodeScanned).text == "loop"
    scanner.stop()


def test_framer_joins_fragments_within_the_idle_time_and_drops_stale_ones():
    framer = LineFramer(b"\r\n", idle=0.5)
    assert framer.feed(b"12", now=0.0) == []
    assert framer.feed(b"34\r", now=0.4) == []
    assert framer.feed(b"\n", now=0.8) == ["1234"]
    assert framer.feed(b"stale", now=1.0) == []
    assert framer.feed(b"", now=1.6) == []
    assert framer.feed(b"fresh\r\n", now=1.7) == ["fresh"]


def test_framer_handles_crlf_sent_to_a_cr_port_and_bad_bytes():
    framer = LineFramer(b"\r", idle=0.5)
    assert framer.feed(b"A1\r\nB2\r\n", now=0.0) == ["A1", "B2"]
    assert framer.feed(b"\xff\xfe1\r", now=0.1) == ["\ufffd\ufffd1"]
    assert framer.feed(b"\r\r", now=0.2) == []
