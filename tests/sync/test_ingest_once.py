"""Head office keeps the once-only rules when two offline kiosks both did the same thing."""
from __future__ import annotations

import json

from sync.hq.db import Db
from sync.hq.ingest import Ingest

MON, TUE = "2026-11-02T10:00", "2026-11-03T10:00"


def _offline_pair(make_kiosk, tmp_path):
    a, b = make_kiosk("k1"), make_kiosk("k2")
    register = a.register(name="Ma Chao", phone="13800001234", card_id="R1", operator="admin", at=MON)
    b.ingest(a.tx_record(register["tx_id"]))
    return a, b, register["member_id"], Ingest(Db(f"sqlite:///{tmp_path / 'hq.db'}"))


def test_second_replacement_of_one_card_is_void_alerted_and_blocked(tmp_path, make_kiosk):
    a, b, member_id, ingest = _offline_pair(make_kiosk, tmp_path)
    a.replace_card("R1", "R2", operator="admin", at=TUE)
    b.replace_card("R1", "R3", operator="admin", at=TUE)
    ingest.batch("s1", "k1", "kiosk", a.journal())
    out = ingest.batch("s1", "k2", "kiosk", b.journal())
    assert [c["detail"]["shortfalls"][0]["what"] for c in out.corrections] == ["card"]
    assert [a["kind"] for a in out.alerts] == ["overdraft"] and out.held_cards == ["R3"]
    cards = dict(ingest.conn.execute("SELECT card_id, status FROM cards").fetchall())
    assert cards == {"R1": "replaced", "R2": "active", "R3": "void"}
    (blocked,) = ingest.conn.execute("SELECT body FROM hq_versions WHERE name = 'blocklist'").fetchone()
    assert [c["card_id"] for c in json.loads(blocked)["cards"]] == ["R3"]


def test_one_printed_coupon_used_on_two_offline_kiosks_is_a_debt_and_an_alert(tmp_path, make_kiosk):
    from kiosk.ledger import lines_from_amount
    a, b, member_id, ingest = _offline_pair(make_kiosk, tmp_path)
    for k in (a, b):
        k.purchase("R1", lines_from_amount(10000), printed_coupons=[("V20", 7)], operator="admin", at=TUE)
    ingest.batch("s1", "k1", "kiosk", a.journal())
    out = ingest.batch("s1", "k2", "kiosk", b.journal())
    assert [c["detail"]["shortfalls"] for c in out.corrections] == [
        [{"what": "coupon", "campaign": "V20", "serial": 7, "member_id": member_id, "short": 2000}]]
    assert [a["kind"] for a in out.alerts] == ["overdraft"] and out.held_cards == []
    assert [b["principal_fen"] for b in out.balances] == [-2000]
    (alerts,) = ingest.conn.execute("SELECT COUNT(*) FROM hq_alerts WHERE kind = 'overdraft'").fetchone()
    assert alerts == 1


def test_every_effect_and_an_effectless_staff_record_pass_the_batch_schema(make_kiosk):
    """The hub drops a batch that fails tx.batch.json: receipts, printed coupons and staff records included."""
    from kiosk.ledger import lines_from_amount
    from kiosk.ledger.apply import HANDLERS
    from sync.protocol.envelope import check, schema
    k = make_kiosk("k1")
    k.register(name="Ma Chao", phone="13800001234", card_id="R1", operator="admin", at=MON)
    k.claim_receipt("R1", store_id="s1", pos_txn="P1", amount_fen=1000, issued_at=1793000000, at=MON)
    k.purchase("R1", lines_from_amount(10000), printed_coupons=[("V20", 1)], operator="admin", at=MON)
    k.add_staff("ann", "Ann", "cashier", "1234", at=MON)
    check("tx.batch", {"store_id": "s1", "source_id": "k1", "records": k.journal()})
    ops = schema("record")["properties"]["effects"]["items"]["properties"]["op"]["enum"]
    assert set(ops) == set(HANDLERS)


def test_head_office_refuses_online_a_printed_coupon_it_has_seen_used(tmp_path, make_kiosk):
    from kiosk.ledger import lines_from_amount
    from sync.hq.authority import Authority
    a, _b, _member, ingest = _offline_pair(make_kiosk, tmp_path)
    a.purchase("R1", lines_from_amount(10000), printed_coupons=[("V20", 7)], operator="admin", at=TUE)
    ingest.batch("s1", "k1", "kiosk", a.journal())
    authority = Authority(ingest.conn)
    ask = {"card_id": "R1", "spend": "coupon", "amount": 2000}
    assert authority.authorize({**ask, "printed_coupon": "V20:7"})[0] == "coupon_used"
    assert authority.authorize({**ask, "printed_coupon": "V20:8"})[0] == ""
