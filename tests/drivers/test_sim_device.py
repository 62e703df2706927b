"""The sim: twin tells the same stories a real reader and scanner would."""
import pytest

from drivers import open_device
from drivers.events import CardPresented, CardRemoved, CodeScanned, DeviceBack, DeviceLost

UID_A, UID_B = bytes.fromhex("04A1B2C3D4E5F6"), bytes.fromhex("04010203040506")


@pytest.fixture
def sim(events):
    device = open_device("sim:", events)
    device.start()
    yield device
    device.stop()


def test_one_tap_is_one_presented_and_one_removed(sim, expect, quiet):
    sim.present_card(UID_A, ndef=b"\xd0\x00\x00")
    tap = expect(CardPresented)
    assert (tap.uid, tap.ndef, tap.device) == (UID_A, b"\xd0\x00\x00", "sim:")
    sim.present_card(UID_A)           # still lying there: not a new tap
    quiet(0.05)
    sim.remove_card()
    assert expect(CardRemoved).uid == UID_A


def test_a_different_card_ends_the_first_tap(sim, expect):
    sim.present_card(UID_A)
    expect(CardPresented)
    sim.present_card(UID_B.hex())
    assert expect(CardRemoved).uid == UID_A
    assert expect(CardPresented).uid == UID_B


def test_scans_arrive_as_codes(sim, expect):
    sim.scan("4006381333931")
    assert expect(CodeScanned).text == "4006381333931"


def test_unplug_with_a_card_on_it_and_replug(sim, expect, quiet):
    sim.present_card(UID_A)
    expect(CardPresented)
    sim.unplug()
    assert expect(CardRemoved).uid == UID_A
    assert expect(DeviceLost).reason == "missing"
    assert sim.state == "missing"
    sim.scan("ignored while unplugged")
    quiet(0.05)
    sim.replug()
    expect(DeviceBack)
    assert expect(CardPresented).uid == UID_A      # the card is still on the reader
    assert sim.state == "ok"


def test_a_card_laid_on_an_unplugged_reader_is_read_once_it_is_back(sim, expect, quiet):
    sim.unplug("permission denied")
    assert expect(DeviceLost).reason == "permission denied"
    sim.present_card(UID_B)
    quiet(0.05)
    sim.replug()
    expect(DeviceBack)
    assert expect(CardPresented).uid == UID_B


def test_missing_at_start_is_a_state_not_an_error(events, expect):
    device = open_device("sim:?state=missing", events)
    device.start()
    assert expect(DeviceLost).reason == "missing"
    assert device.state == "missing"
    device.replug()
    expect(DeviceBack)


def test_path_options_script_a_card_and_a_scan_at_start(events, expect):
    device = open_device("sim:demo?card=04A1B2C3&ndef=D00000&scan=KC1:X:1:AAAA", events)
    device.start()
    tap = expect(CardPresented)
    assert (tap.uid, tap.ndef) == (bytes.fromhex("04A1B2C3"), bytes.fromhex("D00000"))
    assert expect(CodeScanned).text == "KC1:X:1:AAAA"
    device.stop()
    assert device.state == "stopped"
