"""Today at the counter: campaigns from the rules on the store's calendar day, and the shift figures."""
from __future__ import annotations

from kiosk.ledger import Ledger
from kiosk.ledger.clock import parse_instant
from kiosk.ui.presenter import present_campaigns
from kiosk.ui.services import todays_campaigns


def test_wednesday_in_shanghai_is_a_double_points_day_while_utc_is_still_tuesday(tmp_path):
    led = Ledger.create(tmp_path / "ledger.db", kiosk_id="k1", store_id="s1", at="2026-11-01T00:00:00Z")
    wednesday = todays_campaigns(led, parse_instant("2026-12-01T20:00:00Z"))      # Tue 20:00 UTC = Wed 04:00
    thursday = todays_campaigns(led, parse_instant("2026-12-02T20:00:00Z"))
    led.close()
    assert [c["kind"] for c in wednesday] == ["weekday", "birthday"]
    assert [c["kind"] for c in thursday] == ["birthday"]
    assert present_campaigns(wednesday, lambda s: s, "en").splitlines()[0] == "Today is Wednesday: points ×2"


def test_shift_figures_keep_the_till_apart_from_stored_value():
    from kiosk.ui.shift import shift_figures

    def rec(kind, operator="c1", **data):
        return {"kind": kind, "operator": operator, "data": data}
    records = [rec("purchase", external_fen=3000, sv_principal_fen=0, sv_bonus_fen=0),
               rec("purchase", external_fen=0, sv_principal_fen=900, sv_bonus_fen=100),
               rec("topup", amount_fen=50000), rec("refund", external_fen=1000),
               rec("package_sell", "m1", pay="stored-value", price_fen=15000, sv_principal_fen=15000),
               rec("topup_undo", "m1", principal_fen=20000, bonus_fen=2000), rec("checkin", "self")]
    figures = shift_figures(records)
    assert figures["c1"] == {"transactions": 4, "till_fen": 3000 + 50000 - 1000, "stored_value_fen": 1000}
    assert figures["m1"] == {"transactions": 2, "till_fen": -20000, "stored_value_fen": 15000}
    assert "self" not in figures


def test_gift_pictures_and_english_package_names_reach_the_screen_data(tmp_path):
    import pytest
    from zoneinfo import ZoneInfo

    from kiosk import demo_data as demo
    from kiosk.ledger import RulesError, load_rules
    from kiosk.ui.presenter import present_gifts, present_member
    from kiosk.ui.services import gift_catalogue, member_snapshot
    from kiosk.ledger import pictures
    demo.seed(tmp_path / "ledger.db")
    led = Ledger(tmp_path / "ledger.db", kiosk_id="kiosk-01", store_id="store-01")
    try:
        gifts, view = gift_catalogue(led), member_snapshot(led, demo.ZHANG.card_id)
        beans = (demo.DEMO_PICTURES / "coffee-beans.png").read_bytes()
        pictures.store(led.path, "GIFT-MUG", 3, "png", beans)       # as the sync agent caches head office's
        published = gift_catalogue(led)
    finally:
        led.close()
    rows = {r["arg"]: r for r in present_gifts(gifts, 0, lambda s: s, lambda s, p, n: p, "en", False)}
    assert rows[demo.BEANS_GTIN]["picture"] == str(tmp_path / "gift-pictures" / "coffee-beans.png")
    assert rows["GIFT-MUG"]["picture"] == "" and rows["GIFT-MUG"]["pictured"]      # the screen shows an icon
    pictured = {g["sku"]: g["picture"] for g in published}      # head office's first, then the local folder
    assert pictured == {demo.BEANS_GTIN: str(tmp_path / "gift-pictures" / "coffee-beans.png"),
                        "GIFT-MUG": str(tmp_path / "gift-pictures-hq" / "GIFT-MUG.v3.png"), "GIFT-BAG": ""}
    home = {lang: present_member(view, lambda s: s, lang, ZoneInfo("Asia/Shanghai")) for lang in ("en", "zh_CN")}
    assert [p["text"] for p in home["en"]["packages"]] == ["Coffee, 10 cups"]
    assert [p["text"] for p in home["zh_CN"]["packages"]] == ["咖啡十次卡"]
    assert "Coffee, 10 cups: 7 left" in [h["detail"] for h in home["en"]["history"]]
    with pytest.raises(RulesError, match="picture"):       # a catalogue cannot point outside the folder
        load_rules(demo.DEMO_RULES.replace('picture = "coffee-beans.png"', 'picture = "../../etc/x.png"'))
