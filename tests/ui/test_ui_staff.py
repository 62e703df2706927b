"""Counter flows on the real app: each changes the ledger exactly as shown, under the operator's name."""
from __future__ import annotations

from kiosk import demo_data as demo
from kiosk.ledger import lines_from_amount
from kiosk.ui.formatting import money
from kiosk.ui.staff_presenter import PRIVACY_NOTICE_VERSION


def last(ledger, kind: str) -> dict:
    return next(r for r in reversed(ledger.journal()) if r["kind"] == kind)


def test_five_wrong_pins_lock_the_staff_card(kiosk):
    kiosk.tap(demo.CASHIER)
    for tries_left in (4, 3, 2, 1):
        kiosk.keys("0000")
        kiosk.press("sign-in")
        assert f"密码错误，还可尝试 {tries_left} 次。" in kiosk.text()
    kiosk.keys("0000")
    kiosk.press("sign-in")
    assert "密码错误次数过多：此员工卡已锁定 15 分钟。" in kiosk.text()
    kiosk.keys("1234")                       # even the right PIN is refused now
    kiosk.press("sign-in")
    state = kiosk.state()
    assert state["staff"] is None and state["screen"] == "pin"
    assert "密码错误次数过多：此员工卡已锁定 15 分钟。" in state["texts"]


def test_purchase_with_coupon_from_stored_value(kiosk, ledger):
    card = demo.ALICE.card_id
    before = ledger.member_view(card)
    expected = ledger.preview_purchase(card, lines_from_amount(30000), coupons=["M200-50"], pay="stored-value")
    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.tap(demo.ALICE)
    kiosk.press("purchase")
    kiosk.keys("300")
    kiosk.press("coupon-M200-50", "pay-stored-value")
    preview = kiosk.text()
    assert "¥250.00" in preview and "-¥50.00" in preview              # payable after the coupon
    assert "¥227.28" in preview and "¥22.72" in preview               # principal and bonus, in proportion
    assert f"+{expected.points_earned:,}" in preview
    kiosk.press("confirm")
    assert f"已支付 ¥250.00，获得 {expected.points_earned} 积分。" in kiosk.text()

    after = ledger.member_view(card)
    assert (after["principal_fen"], after["bonus_fen"]) == (before["principal_fen"] - 22728, before["bonus_fen"] - 2272)
    assert after["points"] == before["points"] + expected.points_earned
    assert [c["code"] for c in after["coupons"]] == []                 # the coupon is used up
    purchase = last(ledger, "purchase")
    assert purchase["operator"] == "cashier01" and purchase["data"]["payable_fen"] == 25000

    kiosk.press("notice-ok", "refund", "refund_pick-0")                # the split shows before the red button
    kiosk.keys("100")
    split = ledger.preview_refund(purchase["tx_id"], 10000)
    shown = kiosk.text()
    assert "退还本金" in shown and money(split["sv_principal_fen"]) in shown
    assert "退还赠送金额" in shown and money(split["sv_bonus_fen"]) in shown
    kiosk.press("confirm")
    refunded = ledger.member_view(card)
    assert (refunded["principal_fen"] - after["principal_fen"], refunded["bonus_fen"] - after["bonus_fen"]) == (
        split["sv_principal_fen"], split["sv_bonus_fen"])


def test_gift_redemption_takes_points_and_stock(kiosk, ledger):
    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.tap(demo.LI)
    kiosk.press("gifts", "redeem-GIFT-MUG")
    assert "确认用 800 积分兑换马克杯？" in kiosk.text()
    kiosk.press("confirm-yes")
    assert "马克杯已兑换，库存剩余 9。" in kiosk.text()
    assert ledger.member_view(demo.LI.card_id)["points"] == 2500 - 800
    assert next(g for g in ledger.gifts() if g["sku"] == "GIFT-MUG")["stock"] == 9
    assert last(ledger, "redeem")["operator"] == "cashier01"
    kiosk.press("notice-ok")
    shown = kiosk.text()
    assert "800 积分" in shown and "库存 9" in shown and "您的积分：1,700" in shown


def test_manager_undoes_a_top_up_a_cashier_cannot(kiosk, ledger):
    card = demo.ALICE.card_id
    before = ledger.member_view(card)

    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.tap(demo.ALICE)
    kiosk.press("topup")
    kiosk.keys("500")
    assert "赠送 ¥50.00：充值后余额 ¥1,100.00" in kiosk.text()
    kiosk.press("confirm")
    assert "已充值 ¥500.00，赠送 ¥50.00。余额 ¥1,100.00。" in kiosk.text()
    mid = ledger.member_view(card)
    assert (mid["principal_fen"], mid["bonus_fen"]) == (before["principal_fen"] + 50000, before["bonus_fen"] + 5000)
    kiosk.press("notice-ok")
    assert "限店长" in kiosk.text()                                     # a cashier cannot undo

    kiosk.sign_in(demo.MANAGER, "2468")
    kiosk.tap(demo.ALICE)
    kiosk.press("topup", "reason-amount", "undo-0", "confirm-yes")
    assert "已撤销充值：扣回 ¥500.00 及赠送 ¥50.00。" in kiosk.text()
    after = ledger.member_view(card)
    assert (after["principal_fen"], after["bonus_fen"]) == (before["principal_fen"], before["bonus_fen"])
    undo = last(ledger, "topup_undo")
    assert undo["operator"] == "manager01" and undo["reason"] == "wrong amount"
    assert last(ledger, "topup")["operator"] == "cashier01"


def test_register_a_member_and_issue_a_blank_card(kiosk, ledger):
    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.press("register")
    kiosk.keys("13512345678")                                          # no keyboard: keypad, pinyin, picker
    kiosk.press("field-name", "kb-z", "kb-h", "kb-a", "kb-o", "cand-赵", "kb-l", "kb-i", "kb-u", "cand-六")
    kiosk.press("field-birthday", "year-10", "month+1")
    kiosk.press("issue")                                               # refused until the member consents
    assert "会员须同意隐私声明。" in kiosk.text()
    kiosk.press("field-consent", "consent", "issue")
    assert "请将空白卡放在读卡器上。" in kiosk.text()
    kiosk.tap(demo.ALICE)                    # a card already in use is refused
    assert "此卡已被使用，请刷一张空白卡。" in kiosk.text()
    kiosk.press("notice-ok")
    kiosk.tap(demo.BLANKS[0])
    assert "会员已登记，会员卡已发放。" in kiosk.text()
    view = ledger.member_view(demo.BLANKS[0].card_id)
    assert view["name"] == "赵六" and view["phone_masked"] == "135****5678" and view["birthday"] == "1980-02-01"
    record = last(ledger, "register")
    assert record["operator"] == "cashier01" and record["data"] == {"privacy_notice": PRIVACY_NOTICE_VERSION}
    assert "赵六  135****5678" in kiosk.text()                          # staff see the name they serve


def test_report_lost_blocks_the_card_at_once(kiosk, ledger):
    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.tap(demo.ZHANG)
    kiosk.press("card", "lost", "confirm-yes")
    assert f"卡 {demo.ZHANG.card_id} 已冻结。" in kiosk.text()
    assert ledger.member_view(demo.ZHANG.card_id)["card_status"] == "lost"
    kiosk.press("notice-ok", "sign-out")
    kiosk.tap(demo.ZHANG)
    assert "此卡已冻结（已挂失或已换卡），请咨询店员。" in kiosk.text()


def test_package_use_and_sale(kiosk, ledger):
    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.tap(demo.ZHANG)
    kiosk.press("packages", "use-COFFEE10")
    assert "已核销一次，剩余 6 次。" in kiosk.text()
    kiosk.press("notice-ok", "pay-stored-value", "sell-WASH5", "confirm-yes")
    assert "已售出洗车五次卡：5 次" in kiosk.text()
    view = ledger.member_view(demo.ZHANG.card_id)
    assert {p["code"]: p["remaining"] for p in view["packages"]} == {"COFFEE10": 6, "WASH5": 5}
    assert view["principal_fen"] + view["bonus_fen"] == 115000 - 15000          # paid from stored value
    assert {last(ledger, k)["operator"] for k in ("package_use", "package_sell")} == {"cashier01"}


def test_replaced_card_carries_the_account_and_blocks_the_old_one(kiosk, ledger):
    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.tap(demo.ALICE)
    kiosk.press("card", "replace")
    assert "请将新卡放在读卡器上。" in kiosk.text()
    kiosk.tap(demo.BLANKS[2])
    assert "新卡已发放，旧卡已冻结。" in kiosk.text()
    assert f"卡号 {demo.BLANKS[2].card_id}" in kiosk.text()
    assert ledger.member_view(demo.BLANKS[2].card_id)["principal_fen"] == 50000
    assert ledger.member_view(demo.ALICE.card_id)["card_status"] == "replaced"


def test_staff_find_a_member_by_phone(kiosk, ledger):
    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.type("find-phone", "13800138001")          # 张三丰's phone in the demo data, typed without +86
    kiosk.press("find-member")
    assert "张三丰  138****8001" in kiosk.text()                # staff see the name they serve
    assert kiosk.state()["screen"] == "staff"
    kiosk.press("clear-member")
    kiosk.type("find-phone", "13900000009")
    kiosk.press("find-member")
    assert "没有会员使用此手机号。" in kiosk.text()


def test_a_printed_coupon_scanned_on_the_purchase_screen_is_used_once(kiosk, ledger):
    code = demo.demo_codes("store-01")["coupon"]               # C10: 10% off, at most ¥20
    kiosk.sign_in(demo.CASHIER, "1234")
    kiosk.tap(demo.ALICE)
    kiosk.press("purchase")
    kiosk.keys("100")
    kiosk.scan(code)
    preview = kiosk.text()
    assert "纸质优惠券 C10 #" in preview and "-¥10.00" in preview
    kiosk.press("confirm")
    assert "已支付 ¥90.00" in kiosk.text()
    purchase = last(ledger, "purchase")
    assert purchase["data"]["printed_coupons"] == [f"C10:{code.split(':')[2]}"]
    kiosk.press("notice-ok", "purchase")
    kiosk.keys("100")
    kiosk.scan(code)                                           # the same coupon again
    assert "该纸质优惠券已被使用。" in kiosk.text()
