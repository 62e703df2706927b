"""Deferred earning: a kiosk that does not hold a member records their purchase on the strength of a
version-2 card token; head office checks the token, prices the purchase with the member's own state and
credits the points once, whatever is resent; a forged or foreign token, a blocked card or a record that
tries to move anything at the kiosk is rejected with nothing credited."""
from __future__ import annotations

import json
import os
from datetime import datetime

import ndef
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.tokens import find_token, make_member_token
from kiosk.ledger import Ledger, Refused, lines_from_amount, pii
from sync.hq import deferred
from sync.hq.db import Db
from sync.hq.ingest import Ingest
from sync.hq.retained import Retained

from .test_rederive import DAY, FULL, forge, rejected, send

TOKEN_KEY = Ed25519PrivateKey.generate()
UID = bytes.fromhex("04A1B2C3D4E5F6")


def token_hex(card_id: str, member_id: str, key=TOKEN_KEY) -> str:
    """The token payload the card reader hands the ledger (verdict.MemberCard.token)."""
    message = make_member_token(key, card_id, 1_790_000_000, UID, member_id=member_id)
    return find_token(list(ndef.message_decoder(message))).hex()


def make_hub(url: str, token_key=TOKEN_KEY.public_key()) -> Ingest:
    db = Db(url)
    Retained(db).set_rules(FULL)
    return Ingest(db, token_key=token_key)


@pytest.fixture
def hq(tmp_path):
    ingest = make_hub(f"sqlite:///{tmp_path / 'hq.db'}")
    yield ingest
    ingest.db.close()


def ledger(tmp_path, kiosk_id: str, store_id: str) -> Ledger:
    return Ledger.create(tmp_path / f"{kiosk_id}.db", kiosk_id=kiosk_id, store_id=store_id, rules_text=FULL,
                         at="2026-01-01T08:00", pii_key=pii.load_or_make(os.environ["KIOSK_HQ_KEY"]))


@pytest.fixture
def home(tmp_path, hq):
    """Store s1's kiosk, where member A registered (birthday this month: double points) and B; sent."""
    led = ledger(tmp_path, "k1", "s1")
    a = led.register(name="A", phone="13800000001", card_id="A", birthday="1990-11-17", operator="admin",
                     at="2026-11-01T09:00")
    b = led.register(name="B", phone="13800000002", card_id="B", operator="admin", at="2026-11-01T09:00")
    send(hq, led, led.journal())
    led.ids = {"A": a["member_id"], "B": b["member_id"]}
    yield led
    led.close()


@pytest.fixture
def away(tmp_path):
    """Store s2's kiosk, which holds neither member."""
    led = ledger(tmp_path, "k2", "s2")
    yield led
    led.close()


def points(hq, member_id: str) -> int:
    return hq.conn.execute("SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = ?", (member_id,)).fetchone()[0]


def buy(away, home, card="A", member=None, token=None, amount=10_000) -> dict:
    member = member or home.ids[card]
    return away.purchase_deferred(card, member, token or token_hex(card, member), lines_from_amount(amount),
                                  operator="admin", at=DAY)


def test_the_kiosk_journals_the_sale_and_changes_nothing(away, home):
    made = buy(away, home)
    record = away.tx_record(made["tx_id"])
    assert (record["kind"], record["member_id"], record["effects"]) == ("purchase_deferred", home.ids["A"], [])
    assert record["inputs"]["call"] == "purchase_deferred" and record["inputs"]["args"]["token"]
    assert away.day_summary(at=DAY)["cash_in_fen"] == 10_000
    assert away.conn.execute("SELECT COUNT(*) FROM lots").fetchone()[0] == 0


def test_the_kiosk_refuses_a_deferred_purchase_for_a_card_it_holds(home):
    with pytest.raises(Refused) as refused:
        buy(home, home)
    assert refused.value.code == "card_known"


def test_head_office_credits_the_members_own_points_once(hq, away, home):
    expected = home.preview_purchase("A", lines_from_amount(10_000), at=DAY).points_earned
    before = points(hq, home.ids["A"])
    made = buy(away, home)
    for _ in range(3):                              # sent, then resent twice
        out = send(hq, away, away.journal(), "k2", "s2")
        assert out.corrections == [] and out.alerts == []
    assert points(hq, home.ids["A"]) == before + expected and expected > 100      # her birthday month counted
    credit = hq.conn.execute("SELECT kiosk_id, kind, ref_tx, tx_id FROM journal WHERE ref_tx = ?",
                             (made["tx_id"],)).fetchall()
    assert credit == [("hq", "purchase", made["tx_id"], deferred.credit_tx_id(made["tx_id"]))]


def test_the_credit_reaches_the_home_store_kiosks_through_the_feed(hq, away, home):
    from sync.hq.authority import Authority
    made = buy(away, home)
    send(hq, away, away.journal(), "k2", "s2")
    page = Authority(hq.db, hq.clock).feed({"store_id": "s1", "after": 0, "limit": 1000})[1]
    tx_ids = [r["tx_id"] for r in page["records"]]
    assert deferred.credit_tx_id(made["tx_id"]) in tx_ids
    for record in page["records"]:
        home.ingest(record, strict=False)
    assert home.member_view("A")["points"] == points(hq, home.ids["A"])


@pytest.mark.parametrize("case, reason", [
    ("forged", "not head office's"),
    ("other member", "names another card or member"),
    ("other card", "names another card or member"),
])
def test_a_token_head_office_did_not_make_for_this_card_and_member_credits_nothing(hq, away, home, case, reason):
    a, b = home.ids["A"], home.ids["B"]
    token = {"forged": token_hex("A", a, Ed25519PrivateKey.generate()), "other member": token_hex("A", b),
             "other card": token_hex("B", a)}[case]
    before = points(hq, a), points(hq, b)
    made = buy(away, home, token=token)
    out = send(hq, away, away.journal(), "k2", "s2")
    rejected(hq, out, away.tx_record(made["tx_id"]), reason)
    assert (points(hq, a), points(hq, b)) == before


@pytest.mark.parametrize("how, reason", [("lost", "card A is lost"), ("held", "card A is held: fraud")])
def test_a_lost_or_held_card_credits_nothing(hq, away, home, how, reason):
    if how == "lost":
        home.report_lost("A", operator="admin", at="2026-11-19T10:00")
        send(hq, home, home.journal())
    else:
        Retained(hq.db).block("A", "fraud")
    before = points(hq, home.ids["A"])
    made = buy(away, home)
    out = send(hq, away, away.journal(), "k2", "s2")
    rejected(hq, out, away.tx_record(made["tx_id"]), reason)
    assert points(hq, home.ids["A"]) == before


def test_a_deferred_purchase_that_moves_stored_value_at_the_kiosk_is_rejected(hq, away, home):
    buy(away, home)
    records = away.journal()
    send(hq, away, records[:-1], "k2", "s2")
    record = forge(records[:-1], records[-1], lambda r: r["effects"].append(
        {"op": "sv", "member_id": home.ids["A"], "principal": 100_000, "bonus": 0}))
    before = points(hq, home.ids["A"])
    out = hq.batch("s2", "k2", "kiosk", [record])
    rejected(hq, out, record, "has effects")
    assert points(hq, home.ids["A"]) == before
    assert hq.conn.execute("SELECT principal_fen FROM members WHERE member_id = ?", (home.ids["A"],)).fetchone() == (0,)


def test_a_deferred_record_without_its_call_is_rejected(hq, away, home):
    buy(away, home)
    records = away.journal()
    send(hq, away, records[:-1], "k2", "s2")
    record = forge(records[:-1], records[-1], lambda r: r["inputs"].update(call="purchase"))
    out = hq.batch("s2", "k2", "kiosk", [record])
    rejected(hq, out, record, "must state its call")


def test_a_hub_without_the_token_key_credits_nothing(tmp_path, away, home):
    bare = make_hub(f"sqlite:///{tmp_path / 'bare.db'}", token_key=None)
    send(bare, home, home.journal())
    made = buy(away, home)
    out = send(bare, away, away.journal(), "k2", "s2")
    rejected(bare, out, away.tx_record(made["tx_id"]), "no member-token key")
    bare.db.close()


def test_head_office_issues_version_2_tokens_for_active_cards_only(hq, home, tmp_path, capsys):
    from cryptography.hazmat.primitives import serialization

    from drivers.cards import CardVerifier
    from sync.hq.cli import main
    pem = tmp_path / "token.pem"
    pem.write_bytes(TOKEN_KEY.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()))
    argv = ["card-token", "A", "--db", hq.db.url, "--key", str(pem), "--uid", UID.hex(), "--json",
            "--now", "2026-11-20T10:00+08:00"]
    assert main(argv) == 0
    made = json.loads(capsys.readouterr().out)
    public = TOKEN_KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert made["token_public_key"] == public.hex()       # what kiosks are provisioned with
    card = CardVerifier(token_public_key=public).check(UID, bytes.fromhex(made["ndef"]))
    assert (card.card_id, card.member_id, card.issued_at) == ("A", home.ids["A"], int(datetime.fromisoformat("2026-11-20T10:00+08:00").timestamp()))
    home.report_lost("A", operator="admin", at="2026-11-19T10:00")
    send(hq, home, home.journal())
    assert main(argv) == 3 and json.loads(capsys.readouterr().out)["code"] == "card_blocked"


def test_the_credit_is_priced_as_paid_in_full_at_the_till(hq, away, home):
    home.purchase("B", lines_from_amount(100_000), operator="admin", at="2026-11-10T10:00")     # B: a 5 % tier
    send(hq, home, home.journal())
    assert hq.conn.execute("SELECT tier FROM members WHERE member_id = ?", (home.ids["B"],)).fetchone() == ("normal",)
    made = buy(away, home, card="B")
    send(hq, away, away.journal(), "k2", "s2")
    (text,) = hq.conn.execute("SELECT record FROM journal WHERE ref_tx = ?", (made["tx_id"],)).fetchone()
    credit = json.loads(text)
    paid = next(e for e in credit["effects"] if e["op"] == "purchase")
    assert (paid["payable_fen"], credit["data"]["tier_discount_fen"], credit["data"]["tier_id"]) == (10_000, 0, "normal")
    assert paid["points_earned"] > 0 and credit["data"]["deferred"]["kiosk_id"] == "k2"
