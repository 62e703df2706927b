"""Device paths from config: good ones open a driver, bad ones fail naming the bad part."""
import pytest

import drivers
from drivers import DeviceUrlError, open_device


@pytest.mark.parametrize("url", [
    "nfc:usb", "nfc:usb:054c:06c3", "nfc:tty:S0:pn532", "nfc:tty:AMA0:pn532", "nfc:udp:127.0.0.1:54321",
    "nfc:udp:localhost", "hid:/dev/input/by-id/usb-Scanner-event-kbd", "hid:vid=05e0,pid=1200",
    "serial:/dev/ttyACM0?baud=9600&suffix=crlf", "serial:loop://?suffix=lf", "sim:", "sim:counter?state=missing",
])
def test_valid_paths_give_a_driver_not_yet_started(url, events):
    device = open_device(url, events)
    assert device.state == "starting"
    assert events.empty()


@pytest.mark.parametrize("url, named", [
    ("usb:nfc", "unknown device scheme 'usb'"),
    ("nfc", "scheme:target"),
    ("serial:/dev/ttyACM0?baud=fast", "option 'baud'"),
    ("serial:/dev/ttyACM0?suffix=tab", "option 'suffix'"),
    ("serial:/dev/ttyACM0?parity=E", "unknown option 'parity'"),
    ("serial:/dev/ttyACM0?baud=9600&baud=4800", "option 'baud' given twice"),
    ("nfc:usb?targets=106Z", "option 'targets'"),
    ("nfc:usb:54c:6c3", "4 hex digits"),
    ("nfc:tty:S0:pn999", "driver 'pn999'"),
    ("nfc:tty:S0", "nfc:tty:PORT:DRIVER"),
    ("nfc:udp:127.0.0.1:99999", "option 'port'"),
    ("nfc:bluetooth", "unknown NFC connection 'bluetooth'"),
    ("hid:vid=5e0,pid=1200", "hid:vid=XXXX,pid=YYYY"),
    ("hid:/dev/input/event3?max_length=0", "option 'max_length'"),
    ("sim:?state=broken", "option 'state'"),
    ("sim:?card=XYZ", "option 'card'"),
])
def test_bad_paths_are_errors_that_name_the_problem(url, named, events):
    with pytest.raises(DeviceUrlError) as error:
        open_device(url, events)
    assert named in str(error.value)


def test_a_registered_scheme_serves_its_paths(events):
    class Echo(drivers.base.Driver):
        pass

    drivers.register("echo", Echo)
    try:
        assert isinstance(open_device("echo:anything", events), Echo)
    finally:
        drivers.registry._DRIVERS.pop("echo")
