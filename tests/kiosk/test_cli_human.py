"""kioskctl's human output: labelled tables with units, nothing a person must decode, no escapes run."""
import json
import os
import subprocess
import sys

from kiosk import config



def env():
    """This process's environment (the pinned clock included) without the config variables (KIOSK_ID...)."""
    return {k: v for k, v in os.environ.items() if k not in config.ENVIRONMENT}
EVIL = "Eve\x1b[2J\x1b[H\x07"


def test_show_and_lists_read_as_tables_with_units(tmp_path):
    def ctl(*args):
        proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--db", str(tmp_path / "k.db"), *args],
                              capture_output=True, text=True, env=env())
        assert proc.returncode == 0, proc.stderr
        return proc.stdout
    ctl("init", "--at", "2026-11-01T08:00")
    ctl("member", "add", "--name", EVIL, "--phone", "13800138000", "--card", "C1", "--at", "2026-11-02T09:00")
    ctl("tx", "topup", "--card", "C1", "--amount", "500", "--at", "2026-11-02T10:00")
    ctl("coupon", "issue", "--card", "C1", "--coupon", "V20", "--at", "2026-11-02T10:00")
    shown = ctl("show", "--card", "C1", "--at", "2026-11-02T11:00")
    assert "\x1b" not in shown and "\x07" not in shown and "Eve\\x1b[2J\\x1b[H\\x07" in shown
    assert "principal (yuan)" in shown and "500.00" in shown and "bonus (yuan)" in shown
    assert "_fen" not in shown and "None" not in shown and "False" not in shown and "True" not in shown
    assert "{" not in shown and "[" not in shown.replace("\\x1b[", "")
    assert "20 yuan voucher" in shown and "2026-12-01" in shown          # the coupon, as a table row
    journal = ctl("journal").splitlines()
    assert journal[0].split()[:3] == ["seq", "at", "kind"] and "{" not in "".join(journal)
    assert [line.split()[0] for line in journal[2:]] == ["1", "2", "3", "4"]
    gifts = ctl("gifts")
    assert "GIFT-MUG" in gifts and "马克杯" in gifts and "{" not in gifts
    as_json = json.loads(ctl("show", "--card", "C1", "--json", "--at", "2026-11-02T11:00"))
    assert (as_json["principal_fen"], as_json["name"], as_json["birthday"]) == (50000, EVIL, None)
