"""Every refusal a cashier can meet has a plain message: the reasons head office answers a spend with
come back as the ledger's refusal code, so each needs its own line, not the generic 'code: ...' one."""
from __future__ import annotations

import re
from pathlib import Path

from kiosk.ui.catalog import translated
from kiosk.ui.messages import LEDGER, for_failure

AUTHORITY = Path(__file__).parents[2] / "sync" / "hq" / "authority.py"


def test_every_reason_head_office_answers_has_a_message_in_both_languages():
    reasons = set(re.findall(r'return "([a-z_]+)"', AUTHORITY.read_text()))
    assert {"late", "card_blocked", "insufficient_points", "out_of_stock"} <= reasons
    assert sorted(reasons - LEDGER.keys()) == []
    chinese = translated("zh_CN")
    for reason in reasons:
        assert "code:" not in for_failure(reason, "", lambda text: text)
        assert LEDGER[reason] in chinese, reason
