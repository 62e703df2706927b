"""Phone numbers are stored in E.164, unique among active members, and find their member."""
import os
import subprocess
import sys

import pytest

from kiosk import config
from kiosk.ledger import InvalidInput, NotFound, Refused

AT = "2026-11-02T10:00"


def test_phone_numbers_are_normalised_and_unique_among_active_members(led):
    led.register(name="A", phone="+86 136-1111-2222", card_id="P1", operator="admin", at=AT)
    assert led.member_by_phone("13611112222")["card_id"] == "P1"
    assert led.member_view("P1", at=AT)["phone_masked"] == "136****2222"
    for spelling in ("13611112222", "+8613611112222", "136 1111 2222"):
        with pytest.raises(Refused, match=r"already registered.*\*P1") as refused:
            led.register(name="B", phone=spelling, card_id="P2", operator="admin", at=AT)
        assert refused.value.code == "phone_in_use"
    led.register(name="C", phone="13800138000", card_id="C1", operator="admin", at=AT)
    with pytest.raises(Refused, match="already registered"):
        led.edit_profile("C1", phone="136-1111-2222", operator="admin", at=AT)
    with pytest.raises(InvalidInput, match="phone"):
        led.register(name="B", phone="12345", card_id="P2", operator="admin", at=AT)
    led.close_account("P1", reason="moving", operator="admin", at=AT)
    led.register(name="B", phone="13611112222", card_id="P2", operator="admin", at=AT)   # free again
    assert led.member_by_phone("+8613611112222")["card_id"] == "P2"
    with pytest.raises(NotFound, match="no active member"):
        led.member_by_phone("13900000001")


def test_kioskctl_shows_a_member_by_phone(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in config.ENVIRONMENT}

    def ctl(*args):
        return subprocess.run([sys.executable, "-m", "kiosk.cli", "--db", str(tmp_path / "k.db"), *args],
                              capture_output=True, text=True, env=env)
    ctl("init")
    ctl("member", "add", "--name", "张三", "--phone", "13611112222", "--card", "C1", "--at", AT)
    proc = ctl("show", "--phone", "+86 136 1111 2222", "--at", AT)
    assert proc.returncode == 0 and "张三" in proc.stdout and "C1" in proc.stdout
    proc = ctl("member", "add", "--name", "李四", "--phone", "+8613611112222", "--card", "C2", "--at", AT)
    assert proc.returncode == 3 and "already registered" in proc.stderr
