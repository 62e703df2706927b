"""Points into stored value on the real app, under rules that allow it (examples/rules-full.toml)."""
from __future__ import annotations

from pathlib import Path

from kiosk import demo_data as demo

FULL = (Path(__file__).parents[2] / "examples" / "rules-full.toml").read_text()


def test_cashier_converts_points_into_bonus_stored_value(kiosk, ledger):
    ledger.init(FULL, at="2026-01-01T08:00")     # as a rules push: the running app re-reads its rules
    card = demo.LI.card_id
    before = ledger.member_view(card)
    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.tap(demo.LI)
    kiosk.press("convert")
    kiosk.keys("500")
    assert "增加赠送储值 ¥5.00" in kiosk.text()
    kiosk.press("confirm")
    assert "已兑换 500 积分，储值增加 ¥5.00。" in kiosk.text()

    after = ledger.member_view(card)
    assert after["points"] == before["points"] - 500
    assert (after["principal_fen"], after["bonus_fen"]) == (before["principal_fen"], before["bonus_fen"] + 500)
    convert = next(r for r in reversed(ledger.journal()) if r["kind"] == "convert")
    assert convert["operator"] == "cashier01" and convert["data"]["bonus_fen"] == 500
