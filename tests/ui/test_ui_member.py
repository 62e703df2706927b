"""Member flows on the real app: a tap shows the member, check-in, refusals, the idle timeout."""
from __future__ import annotations

from kiosk import demo_data as demo
from kiosk.ui.formatting import money


def test_member_tap_shows_their_points_and_balance(kiosk, ledger):
    view = ledger.member_view(demo.ZHANG.card_id)
    kiosk.tap(demo.ZHANG)
    state = kiosk.state()
    shown = "\n".join(state["texts"])
    assert state["screen"] == "member"
    assert f"{view['points']:,}" in state["texts"]
    assert money(view["principal_fen"] + view["bonus_fen"]) in state["texts"]
    assert f"本金 {money(view['principal_fen'])}" in shown and f"赠送 {money(view['bonus_fen'])}" in shown
    assert "张**" in shown and "张三丰" not in shown          # the name is masked
    assert "银卡会员" in shown and "生日月" in shown              # tier and the birthday-month greeting
    month, day = map(int, view["points_expiring_on"].split("-")[1:])
    assert f"{view['points_expiring']:,} 积分 {month}月{day}日过期" in shown         # a Chinese date
    assert "咖啡十次卡：剩余 7 次" in shown                          # recent activity names the package


def test_check_in_adds_five_points_once_a_day(kiosk, ledger):
    before = ledger.member_view(demo.ALICE.card_id)["points"]
    kiosk.tap(demo.ALICE)
    kiosk.press("checkin")
    assert "签到成功：+5 积分" in kiosk.text()
    assert ledger.member_view(demo.ALICE.card_id)["points"] == before + 5
    kiosk.press("notice-ok")
    assert f"{before + 5:,}" in kiosk.state()["texts"] and "今日已签到" in kiosk.text()

    kiosk.press("done")
    kiosk.tap(demo.ALICE)                    # back later the same day: the button stays spent
    kiosk.press("checkin")
    assert ledger.member_view(demo.ALICE.card_id)["points"] == before + 5
    assert "今日已签到" in kiosk.text()


def test_idle_timeout_clears_the_member_from_screen_and_memory(start):
    kiosk = start(ui={"idle_timeout_s": 5})
    kiosk.tap(demo.ZHANG)
    assert kiosk.state()["member"]
    state = kiosk.wait_for(lambda s: s["screen"] == "attract", timeout=20)
    assert not state["member"]
    everywhere = "\n".join(kiosk.state(all_screens=True)["all_texts"])
    assert "张**" not in everywhere and "11,600" not in everywhere and "¥1,150.00" not in everywhere


def test_blocked_card_is_refused_with_a_plain_message(kiosk):
    kiosk.tap(demo.LOST)
    state = kiosk.state()
    assert state["screen"] == "attract" and not state["member"]
    assert "此卡已冻结（已挂失或已换卡），请咨询店员。" in state["texts"]
    assert not any("Traceback" in t or "Error" in t for t in state["texts"])


def test_forged_phone_code_and_forged_card_are_refused(kiosk):
    codes = demo.demo_codes("store-01")
    kiosk.scan(codes["forged_qr"])
    assert "此卡或码无法通过验证，已拒绝。" in kiosk.text() and not kiosk.state()["member"]
    kiosk.press("notice-ok")
    kiosk.tap(demo.FORGED)
    assert "此卡或码无法通过验证，已拒绝。" in kiosk.text() and not kiosk.state()["member"]
    kiosk.press("notice-ok")
    kiosk.scan(codes["phone_qr"])            # the genuine code opens the member
    assert kiosk.state()["screen"] == "member" and "张**" in kiosk.text()


def test_receipt_claim_adds_points_once(kiosk, ledger):
    before = ledger.member_view(demo.ZHANG.card_id)["points"]
    receipt = demo.demo_codes("store-01")["receipt"]
    kiosk.tap(demo.ZHANG)
    kiosk.scan(receipt)
    claimed = ledger.member_view(demo.ZHANG.card_id)["points"] - before
    assert claimed == 176                      # 88.00 yuan in his birthday month: double points
    assert "小票积分已领取：+176 积分" in kiosk.text()
    kiosk.press("notice-ok")
    kiosk.scan(receipt)                        # the same receipt again
    assert "此小票积分已被领取。" in kiosk.text()
    assert ledger.member_view(demo.ZHANG.card_id)["points"] == before + claimed


def test_gift_catalogue_shows_what_the_member_can_afford(kiosk):
    kiosk.tap(demo.LI)                       # 2,500 points
    kiosk.press("gifts")
    shown = kiosk.text()
    assert "马克杯\n库存 10\n800 积分" in shown                      # the cost stands out on each row
    assert "帆布袋\n库存 5\n2,000 积分" in shown
    assert "咖啡豆 250 克\n库存 3\n1,500 积分" in shown


def test_language_switch_redraws_the_member_in_english(kiosk):
    kiosk.tap(demo.ZHANG)
    kiosk.press("lang-en")
    shown = kiosk.text()
    assert "Silver" in shown and "Birthday month: double points!" in shown
    assert "银卡会员" not in shown
