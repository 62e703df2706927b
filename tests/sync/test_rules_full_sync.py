"""The second-round transactions over a real broker: head office applies them with the same code
and ends with the kiosk's balances, nothing rejected, nothing alerted."""
from __future__ import annotations

from pathlib import Path

from kiosk.ledger import lines_from_amount, verify
from sync.hq.db import Db
from sync.hq.retained import Retained

from .conftest import confirmed_all, wait_for

FULL = (Path(__file__).parents[2] / "examples" / "rules-full.toml").read_text()


def test_head_office_agrees_on_visits_conversions_and_transfers(tmp_path, broker, start_hub, make_kiosk,
                                                                start_agent):
    kiosk = make_kiosk("k1")
    kiosk.init(FULL, at="2026-11-01T08:00")
    published = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    Retained(published).set_rules(FULL)    # head office re-derives with the rules it published
    published.close()
    start_hub(broker.url)
    start_agent(kiosk, broker.url)
    for card, phone in (("A", "13800000001"), ("B", "13800000002")):
        kiosk.register(name=card, phone=phone, card_id=card, birthday="1990-12-17", operator="admin",
                       at="2026-11-01T09:00")
    kiosk.purchase("A", lines_from_amount(100_000), operator="admin", at="2026-11-02T10:00")
    kiosk.topup("A", 100_000, operator="admin", at="2026-11-20T10:00")
    kiosk.visit("A", at="2026-12-01T09:00")               # instalment 2 and the birthday coupon
    kiosk.convert_points("A", 300, at="2026-12-01T09:05")
    kiosk.transfer_points("A", "B", 200, at="2026-12-01T09:06")
    wait_for(lambda: confirmed_all(kiosk), what="all confirmed")

    hq = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    try:
        assert verify(hq.conn) == []
        assert hq.conn.execute("SELECT COUNT(*) FROM hq_corrections").fetchone() == (0,)
        for card in ("A", "B"):
            view = kiosk.member_view(card, at="2026-12-01T10:00")
            lots, debt, principal, bonus = hq.conn.execute(
                "SELECT (SELECT SUM(remaining) FROM lots l WHERE l.member_id = m.member_id), points_debt,"
                " principal_fen, bonus_fen FROM members m WHERE member_id = ?", (view["member_id"],)).fetchone()
            assert (lots - debt, principal, bonus) == (view["points"], view["principal_fen"], view["bonus_fen"])
        assert hq.conn.execute("SELECT kind, points FROM point_moves ORDER BY kind").fetchall() == [
            ("convert", 300), ("transfer", 200)]
    finally:
        hq.close()
