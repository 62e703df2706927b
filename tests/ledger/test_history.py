"""Every balance change shows in the history of each member it touches."""
from kiosk.ledger import lines_from_amount

MON, TUE, THU = "2026-11-02T10:00", "2026-11-03T10:00", "2026-11-05T10:00"


def _history_adds_up(led, card):
    view = led.member_view(card, at=THU, history=1000)
    points = sum(h["summary"]["points"] for h in view["history"])
    stored = sum(h["summary"]["stored_value_fen"] for h in view["history"])
    assert (points, stored) == (view["points"], view["principal_fen"] + view["bonus_fen"]), card
    return view


def test_referral_bonus_shows_in_the_referrers_history(led, member):
    led.purchase(member, lines_from_amount(11000), operator="admin", at=MON)
    led.register(name="李四", phone="13900139000", card_id="C2", referrer_card=member, operator="admin", at=MON)
    led.topup("C2", 10000, operator="admin", at=MON)
    bought = led.purchase("C2", lines_from_amount(5000), pay="stored-value", operator="admin", at=TUE)
    led.refund(bought["tx_id"], 2000, operator="admin", at=TUE)
    referrer = _history_adds_up(led, member)
    assert referrer["points"] == 110 + led.rules.referral_points
    assert bought["tx_id"] in [h["tx_id"] for h in referrer["history"]]
    _history_adds_up(led, "C2")


def test_an_older_ledger_indexes_its_old_referrals_when_opened(led, member, tmp_path):
    from kiosk.ledger import Ledger
    led.register(name="李四", phone="13900139000", card_id="C2", referrer_card=member, operator="admin", at=MON)
    led.purchase("C2", lines_from_amount(5000), operator="admin", at=TUE)
    led.conn.executescript("DROP TABLE journal_others; PRAGMA user_version = 2;")     # before migration 3
    led.close()
    again = Ledger(tmp_path / "ledger.db")
    try:
        _history_adds_up(again, member)
        assert again.conn.execute("PRAGMA user_version").fetchone() == (3,)
    finally:
        again.close()
