"""Why a device cannot be opened: facts from sysfs and file modes, for states and the doctor.

nfcpy only says "no reader found"; staff and technicians need to know whether the reader is
unplugged, held by a kernel module, or denied to this user, because each has a different fix.
"""
from __future__ import annotations

import grp
import os
from dataclasses import dataclass
from pathlib import Path

from drivers.base import DENIED, MISSING, WRONG_DRIVER, Unavailable

# USB readers nfcpy drives (vid, pid) -> name; ACR122U works but is not recommended (docs/hardware.md).
NFC_READERS = {
    (0x054C, 0x06C1): "Sony RC-S380",
    (0x054C, 0x06C3): "Sony RC-S380",
    (0x054C, 0x02E1): "Sony RC-S330/360/370",
    (0x04E6, 0x5591): "SCM SCL3711",
    (0x04E6, 0x5593): "SCM SCL3712",
    (0x04CC, 0x2533): "NXP PN533",
    (0x054C, 0x0193): "Sony PN531",
    (0x04CC, 0x0531): "Philips PN531",
    (0x072F, 0x2200): "ACS ACR122U",
}
# Kernel NFC drivers that claim these readers and lock nfcpy out (blacklist them).
KERNEL_NFC_MODULES = ("pn533_usb", "port100")


@dataclass(frozen=True)
class UsbDevice:
    vid: int
    pid: int
    name: str
    devnode: str                 # /dev/bus/usb/BBB/DDD
    kernel_driver: str | None    # the kernel module bound to one of its interfaces, if any


def _read_hex(path: Path) -> int | None:
    try:
        return int(path.read_text().strip(), 16)
    except (OSError, ValueError):
        return None


def usb_devices(sysfs: Path = Path("/sys"), known: dict = NFC_READERS) -> list[UsbDevice]:
    """USB devices in *known* that sysfs lists, with the kernel driver bound to them."""
    found = []
    root = sysfs / "bus" / "usb" / "devices"
    for dev in sorted(root.glob("*")) if root.is_dir() else []:
        vid, pid = _read_hex(dev / "idVendor"), _read_hex(dev / "idProduct")
        if (vid, pid) not in known:
            continue
        try:
            bus, num = int((dev / "busnum").read_text()), int((dev / "devnum").read_text())
        except (OSError, ValueError):
            continue
        driver = None
        for intf in sorted(root.glob(dev.name + ":*")):
            link = intf / "driver"
            if link.is_symlink():
                driver = os.path.basename(os.readlink(link))
                break
        found.append(UsbDevice(vid, pid, known[(vid, pid)], f"/dev/bus/usb/{bus:03d}/{num:03d}", driver))
    return found


def diagnose_usb_reader(vid: int | None = None, pid: int | None = None,
                        sysfs: Path = Path("/sys")) -> Unavailable:
    """The reason an ``nfc:usb`` reader did not open, best first: kernel module, access, absence."""
    readers = [d for d in usb_devices(sysfs) if vid in (None, d.vid) and pid in (None, d.pid)]
    for reader in readers:
        if reader.kernel_driver in KERNEL_NFC_MODULES:
            return Unavailable(WRONG_DRIVER, f"{reader.name} at {reader.devnode} is held by kernel module "
                                             f"{reader.kernel_driver}")
    for reader in readers:
        problem = diagnose_node(reader.devnode)
        if problem is not None and problem.state == DENIED:
            return Unavailable(DENIED, f"{reader.name}: {problem.detail}")
    wanted = f" {vid:04x}:{pid:04x}" if vid is not None and pid is not None else ""
    return Unavailable(MISSING, f"no supported USB NFC reader{wanted} is plugged in")


def diagnose_node(path: str) -> Unavailable | None:
    """None when *path* exists and this user may read and write it; otherwise why not."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Unavailable(MISSING, f"{path} does not exist")
    except PermissionError:
        return Unavailable(DENIED, f"{path}: a parent directory is not accessible to this user")
    if os.access(path, os.R_OK | os.W_OK):
        return None
    return Unavailable(DENIED, f"{path} is not readable and writable by this user "
                               f"(owner group {group_name(st.st_gid)!r}, mode {st.st_mode & 0o777:o})")


def group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def node_group(path: str) -> str | None:
    """The group owning *path* (e.g. 'dialout', 'input', 'plugdev'), when it can be seen."""
    try:
        return group_name(os.stat(path).st_gid)
    except OSError:
        return None
