"""Head office holds what it approves online until the transaction arrives or the hold expires
(SQLite and PostgreSQL: the hub migration and the serialised check-and-hold run on both)."""
from __future__ import annotations

from datetime import timedelta

import pytest

from kiosk.ledger import Approval, Ledger, Refused, Spends
from kiosk.ledger.clock import FixedClock
from kiosk.ledger.dates import to_utc_text
from kiosk.ledger.rules import PackagePlan
from sync.hq.authority import Authority
from sync.hq.db import Db
from sync.hq.holds import HOLD_SECONDS
from sync.hq.ingest import Ingest

PLAN = PackagePlan(code="custom", name="Wash", uses=1, price_fen=1000, valid_days=30)


class AskHeadOffice:
    """The online guard without the broker in between: the kiosk's question goes straight to the hub."""

    def __init__(self, authority: Authority):
        self.authority = authority

    def approve(self, ledger, member, card_id, spends):
        reason, result = self.authority.answer("authorize", {"card_id": card_id, "spends": spends.as_dict(),
                                                             "store_id": ledger.store_id, "source_id": ledger.kiosk_id})
        return Approval(result["approved"], True, reason or "approved", spends, result.get("hold"))


@pytest.fixture
def hub(request, tmp_path, clock):
    dialect = getattr(request, "param", "sqlite")
    url = f"sqlite:///{tmp_path / 'hq.db'}" if dialect == "sqlite" else request.getfixturevalue("pg_url")
    db = Db(url)
    yield db
    db.close()


@pytest.fixture
def scene(hub, make_kiosk, clock):
    """A member known to head office with 30 yuan, a V20 coupon and a one-use package."""
    k = make_kiosk("k1")
    k.register(name="Feng Yi", phone="13800005555", card_id="C1", operator="admin")
    k.topup("C1", 3000, operator="admin")
    k.issue_coupon("C1", "V20", operator="admin")
    package = k.sell_package("C1", PLAN, operator="admin")["package_id"]
    ingest, hq_clock = Ingest(hub, clock=clock, rederive=False), FixedClock(clock.now())   # ad-hoc plans: unverifiable
    ingest.batch("s1", "k1", "kiosk", k.journal())
    return k, ingest, Authority(hub, hq_clock), hq_clock, package


def ask(authority: Authority, **spends) -> str:
    return authority.authorize({"card_id": "C1", "spends": spends, "store_id": "s1", "source_id": "k1"})[0]


def test_what_is_held_cannot_be_approved_again_until_the_hold_expires(scene):
    k, _, authority, hq_clock, package = scene
    assert ask(authority, stored_value_fen=2000) == ""
    assert ask(authority, stored_value_fen=2000) == "insufficient_stored_value"
    assert ask(authority, stored_value_fen=1000) == ""                   # what is left is still free
    assert ask(authority, coupons=["V20"]) == ""
    assert ask(authority, coupons=["V20"]) == "no_coupon"
    assert ask(authority, packages=[package]) == ""
    assert ask(authority, packages=[package]) == "no_package"
    assert ask(authority, gifts=["GIFT-BAG"] * 5) == ""                  # the store's whole stock
    assert ask(authority, gifts=["GIFT-BAG"]) == "out_of_stock"
    assert ask(authority, printed_coupons=["V20:9"]) == ""
    assert ask(authority, printed_coupons=["V20:9"]) == "coupon_used"
    hq_clock.advance(seconds=HOLD_SECONDS)
    assert ask(authority, stored_value_fen=3000) == ""                   # the holds lapsed


@pytest.mark.parametrize("hub", ["sqlite", "postgresql"], indirect=True)
def test_the_arriving_transaction_consumes_its_hold(scene):
    k, ingest, authority, _, _ = scene
    with Ledger(k.path, guard=AskHeadOffice(authority)) as led:
        sold = led.sell_package("C1", PLAN, pay="stored-value", operator="admin")
        assert led.tx_record(sold["tx_id"])["data"]["hold"]
        with pytest.raises(Refused, match="insufficient_stored_value"):   # 1000 of 3000 held for the sale
            led.sell_package("C1", PackagePlan("big", "Big", 1, 2001, 30), pay="stored-value", operator="admin")
    ingest.batch("s1", "k1", "kiosk", k.journal())
    assert ingest.conn.execute("SELECT COUNT(*) FROM hq_spend_holds").fetchone() == (0,)
    assert ask(authority, stored_value_fen=2000) == ""                  # 2000 left, none of it held
    assert ask(authority, stored_value_fen=1) == "insufficient_stored_value"


def test_a_question_whose_asker_stopped_waiting_holds_nothing(scene):
    _, ingest, authority, hq_clock, _ = scene
    deadline = to_utc_text(hq_clock.now())
    hq_clock.advance(seconds=1)
    reason, result = authority.authorize({"card_id": "C1", "spends": {"stored_value_fen": 100}, "store_id": "s1",
                                          "source_id": "k1", "deadline": deadline})
    assert (reason, result["approved"]) == ("late", False)
    assert ingest.conn.execute("SELECT COUNT(*) FROM hq_spend_holds").fetchone() == (0,)


def test_a_malformed_question_is_refused_and_holds_nothing(scene):
    _, ingest, authority, _, _ = scene
    for spends in ({"points": -5}, {"colour": 1}, {"gifts": "GIFT-BAG"}):
        assert ask(authority, **spends) == "invalid_request"
    assert ingest.conn.execute("SELECT COUNT(*) FROM hq_spend_holds").fetchone() == (0,)


def test_a_spend_bigger_than_head_office_approved_is_refused_and_writes_nothing(scene):
    """Approved online for one price, then the price rises before the lock is taken (new rules
    arrive): the ledger refuses rather than spend more than head office approved."""
    from kiosk.ledger import REFERENCE_RULES

    k, ingest, authority, _, _ = scene
    k.adjust("C1", 1000, reason="welcome", operator="admin")
    ingest.batch("s1", "k1", "kiosk", k.journal())
    dearer = REFERENCE_RULES.read_text().replace('sku = "GIFT-MUG"\nname = "Mug"\nname_zh = "马克杯"\npoints = 800',
                                                 'sku = "GIFT-MUG"\nname = "Mug"\nname_zh = "马克杯"\npoints = 900')

    class ThenNewRules(AskHeadOffice):
        def approve(self, ledger, member, card_id, spends):
            approval = super().approve(ledger, member, card_id, spends)
            with Ledger(k.path) as agent:         # the sync agent installs new rules meanwhile
                agent.set_rules(dearer)
            return approval
    with Ledger(k.path, guard=ThenNewRules(authority)) as led:
        (before,) = led.conn.execute("SELECT COUNT(*) FROM journal").fetchone()
        with pytest.raises(Refused) as refused:
            led.redeem("C1", "GIFT-MUG", operator="admin")
        assert refused.value.code == "spend_not_approved"
        assert led.conn.execute("SELECT COUNT(*) FROM journal").fetchone() == (before,)
