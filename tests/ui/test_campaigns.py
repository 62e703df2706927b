"""Today's campaigns on the attract screen come from the rules, on the store's calendar day."""
from __future__ import annotations

from kiosk.ledger import Ledger
from kiosk.ledger.clock import parse_instant
from kiosk.ui.presenter import present_campaigns
from kiosk.ui.services import todays_campaigns


def test_wednesday_in_shanghai_is_a_double_points_day_while_utc_is_still_tuesday(tmp_path):
    led = Ledger(tmp_path / "ledger.db", timezone="Asia/Shanghai")
    led.init(at="2026-11-01T00:00:00Z")
    wednesday = todays_campaigns(led, parse_instant("2026-12-01T20:00:00Z"))      # Tue 20:00 UTC = Wed 04:00
    thursday = todays_campaigns(led, parse_instant("2026-12-02T20:00:00Z"))
    led.close()
    assert [c["kind"] for c in wednesday] == ["weekday", "birthday"]
    assert [c["kind"] for c in thursday] == ["birthday"]
    assert present_campaigns(wednesday, lambda s: s, "en").splitlines()[0] == "Today is Wednesday: points ×2"
