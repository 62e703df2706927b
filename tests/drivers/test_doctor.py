"""`kioskctl doctor`: each configured device's state, one read when asked, and the fix for each problem."""
import argparse
import json
import os
import shutil
import tempfile

import pytest

from drivers import doctor
from drivers.probe import diagnose_usb_reader
from drivers.udpcard import UdpCard


def parse(*argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", action="store_true")      # kioskctl adds this one
    doctor.add_arguments(parser)
    return parser.parse_args(argv)


def test_sim_udp_reader_and_missing_scanner_as_json(udp_port, capsys):
    urls = ["sim:", f"nfc:udp:127.0.0.1:{udp_port}", "serial:/dev/serial/by-id/usb-Missing_Scanner-if00"]
    with UdpCard(udp_port, b"", idm="03FEFFE0CAFE0001") as card:
        card.present()
        status = doctor.run(parse("--json", "--wait-card", "--timeout", "15"), urls)
    out = json.loads(capsys.readouterr().out)
    assert status == 1 and out["ok"] is False
    sim, reader, scanner = out["devices"]
    assert (sim["state"], sim["fixes"]) == ("found", [])
    assert reader["state"] == "found"
    assert reader["card"] == {"uid": "03FEFFE0CAFE0001", "tag_type": "Type3Tag", "ndef_records": []}
    assert scanner["state"] == "missing"
    assert any("ls -l /dev/serial/by-id/" in fix for fix in scanner["fixes"])


def test_all_found_and_a_card_and_a_code_read(capsys):
    urls = ["sim:reader?card=04A1B2C3D4E5F6", "sim:scanner?scan=4006381333931"]
    status = doctor.run(parse("--wait-card", "--wait-scan", "--timeout", "5"), urls)
    out = capsys.readouterr().out
    assert status == 0
    assert "card: uid 04A1B2C3D4E5F6" in out
    assert "scan: '4006381333931' (ProductCode)" in out
    assert out.strip().endswith("all ok")


def test_bad_paths_and_nothing_to_read_are_problems_with_fixes(capsys):
    status = doctor.run(parse("--json", "--wait-card", "--timeout", "0.2"), ["serial:/dev/ttyACM0?baud=fast"])
    out = json.loads(capsys.readouterr().out)
    assert status == 1
    bad, wait = out["devices"]
    assert bad["state"] == "bad path" and "option 'baud'" in bad["detail"] and bad["fixes"]
    assert (wait["url"], wait["state"]) == ("(--wait-card)", "nothing read")


def test_no_devices_configured_is_not_a_crash(capsys):
    assert doctor.run(parse(), []) == 0
    assert "no devices configured" in capsys.readouterr().out


def test_a_reader_held_by_the_kernel_module_is_wrong_driver_with_the_blacklist_fix(tmp_path):
    dev = tmp_path / "bus/usb/devices/1-1.3"
    dev.mkdir(parents=True)
    for name, value in (("idVendor", "054c"), ("idProduct", "06c3"), ("busnum", "1"), ("devnum", "5")):
        (dev / name).write_text(value + "\n")
    intf = tmp_path / "bus/usb/devices/1-1.3:1.0"
    intf.mkdir()
    (intf / "driver").symlink_to(tmp_path / "bus/usb/drivers/port100")
    problem = diagnose_usb_reader(sysfs=tmp_path)
    assert problem.state == "wrong driver bound"
    assert "Sony RC-S380" in problem.detail and "port100" in problem.detail
    fixes = doctor.fixes_for("nfc:usb", problem.state)
    assert any("modprobe -r" in f and "pn533_usb" in f for f in fixes)
    assert any("/etc/modprobe.d/" in f for f in fixes)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_permission_denied_names_the_group_to_join():
    """Run as an unprivileged user against a device node owned by root:dialout, mode 660."""
    import serial  # noqa: F401 - loaded before dropping privileges

    folder = tempfile.mkdtemp()
    os.chmod(folder, 0o755)
    node = os.path.join(folder, "ttyACM0")
    open(node, "w").close()
    os.chmod(node, 0o660 if os.geteuid() == 0 else 0)
    if os.geteuid() == 0:
        os.chown(node, 0, 20)                      # group dialout on Debian
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # child: become nobody, run doctor, report back
        try:
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            report = doctor.check_devices([f"serial:{node}"], False, False, 1.0)
            os.write(write, json.dumps(report).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        report = json.loads(pipe.read())
    os.waitpid(pid, 0)
    shutil.rmtree(folder)
    assert report[0]["state"] == "permission denied"
    assert any("usermod -aG" in fix for fix in report[0]["fixes"])
    if os.geteuid() == 0:
        assert any("usermod -aG dialout nobody" in fix for fix in report[0]["fixes"])
