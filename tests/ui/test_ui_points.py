"""Points at the counter on the real app, under rules that allow it (examples/rules-full.toml):
into stored value, and to another member who taps their card."""
from __future__ import annotations

from pathlib import Path

from kiosk import demo_data as demo

FULL = (Path(__file__).parents[2] / "examples" / "rules-full.toml").read_text()


def last(ledger, kind: str) -> dict:
    return next(r for r in reversed(ledger.journal()) if r["kind"] == kind)


def test_cashier_converts_and_gives_points(kiosk, ledger):
    ledger.init(FULL, at="2026-01-01T08:00")     # as a rules push: the running app re-reads its rules
    li, alice = demo.LI.card_id, demo.ALICE.card_id
    before, alice_before = ledger.member_view(li), ledger.member_view(alice)
    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.tap(demo.LI)
    kiosk.press("points")
    kiosk.keys("500")
    assert "增加赠送储值 ¥5.00" in kiosk.text()
    kiosk.press("confirm")
    assert "已兑换 500 积分，储值增加 ¥5.00。" in kiosk.text()
    kiosk.press("notice-ok", "points", "mode-transfer")
    kiosk.keys("300")
    assert "请受赠会员刷卡。" in kiosk.text()
    kiosk.tap(demo.ALICE)
    kiosk.press("confirm")
    assert "已转赠 300 积分" in kiosk.text()

    after, alice_after = ledger.member_view(li), ledger.member_view(alice)
    assert after["points"] == before["points"] - 800 and alice_after["points"] == alice_before["points"] + 300
    assert (after["principal_fen"], after["bonus_fen"]) == (before["principal_fen"], before["bonus_fen"] + 500)
    assert last(ledger, "convert")["operator"] == last(ledger, "transfer")["operator"] == "cashier01"
    assert alice_after["history"][0]["kind"] == "transfer"


def test_topup_shows_the_whole_bonus_before_it_is_confirmed(kiosk, ledger):
    ledger.init(FULL, at="2026-01-01T08:00")
    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.tap(demo.LI)
    kiosk.press("topup")
    kiosk.keys("1000")
    shown = kiosk.text()
    assert "赠送 ¥50.00" in shown and "另赠：300 积分，分 3 个月发放" in shown   # 50 now, 150 and 300 over 3 months
