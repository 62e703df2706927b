"""The SD image's files agree with each other: with the root read-only, what first boot writes
lands on a writable partition, where the service that reads it looks (image/rootfs, docs/image.md)."""
import configparser
import shlex
from pathlib import Path, PurePosixPath

ROOTFS = Path(__file__).parents[1] / "image" / "rootfs"
WIFI_LINK = PurePosixPath("/etc/wpa_supplicant/wpa_supplicant-wlan0.conf")


def unit(path: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((ROOTFS / path.lstrip("/")).read_text())
    return parser


def mount_of(path: PurePosixPath) -> tuple[str, list[str]]:
    """The fstab entry whose mount point holds ``path`` (the longest that does): (where, options)."""
    entries = [line.split() for line in (ROOTFS / "etc/fstab").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    where, options = max(((e[1], e[3].split(",")) for e in entries if path.is_relative_to(e[1])),
                         key=lambda e: len(e[0]))
    return where, options


def firstboot_wifi_conf() -> PurePosixPath:
    dropin = unit("/etc/systemd/system/kiosk-firstboot.service.d/image.conf")
    argv = shlex.split(dropin["Service"]["ExecStart"].strip().splitlines()[-1])
    return PurePosixPath(argv[argv.index("--wifi-conf") + 1])


def test_the_root_is_read_only_so_first_boot_writes_the_wifi_settings_to_the_data_partition():
    assert "ro" in mount_of(PurePosixPath("/etc"))[1]
    target = firstboot_wifi_conf()
    where, options = mount_of(target)
    assert where == "/data" and "ro" not in options
    dropin = unit("/etc/systemd/system/kiosk-firstboot.service.d/image.conf")
    assert "/data" in dropin["Service"]["ReadWritePaths"].split()     # the unit's sandbox lets it write there


def test_wpa_supplicant_reads_what_first_boot_wrote_and_is_skipped_without_it():
    link = ROOTFS / str(WIFI_LINK).lstrip("/")
    assert link.is_symlink() and PurePosixPath(link.readlink()) == firstboot_wifi_conf()
    dropin = unit("/etc/systemd/system/wpa_supplicant@.service.d/kiosk.conf")["Unit"]
    assert dropin["ConditionPathExists"] == "/etc/wpa_supplicant/wpa_supplicant-%I.conf"
    assert "/data" in dropin["RequiresMountsFor"].split()
    network = unit("/etc/systemd/network/25-wireless.network")
    assert network["Match"]["Name"] == "wl*" and network["Network"]["DHCP"] == "yes"


def test_wpa_supplicant_waits_for_a_wlan0_that_appears_and_boot_never_waits_for_one():
    wants = ROOTFS / "etc/systemd/system/sys-subsystem-net-devices-wlan0.device.wants/wpa_supplicant@wlan0.service"
    assert wants.is_symlink() and PurePosixPath(wants.readlink()).name == "wpa_supplicant@.service"
    assert not list(ROOTFS.glob("etc/systemd/system/*.target.wants/wpa_supplicant*"))
    assert "systemctl enable wpa_supplicant" not in (ROOTFS.parent / "customize").read_text()
