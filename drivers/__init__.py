"""Hardware drivers (NFC readers, barcode scanners) and the meaning of what they read.

Depends on nothing else in this project. Drivers run their blocking loops in threads and
put typed events from :mod:`drivers.events` onto one queue::

    device = drivers.open_device("nfc:usb", events)   # DeviceUrlError names a bad option
    device.start()                                    # device.state: "ok", "missing", ...
"""
from drivers.registry import open_device, register
from drivers.url import DeviceUrlError

__all__ = ["open_device", "register", "DeviceUrlError"]
