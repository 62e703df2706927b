"""The sync layer's spend guard: the ledger asks head office first (which holds what it approves),
and without an answer the offline limits decide."""
from __future__ import annotations

import threading

import pytest

from kiosk.ledger import Ledger, Refused, lines_from_amount
from kiosk.ledger.rules import PackagePlan
from sync.authorize import HeadOfficeGuard
from sync.mqtt import Broker
from sync.protocol import Codec, Verifier, topics
from sync.requester import Requester

from .conftest import confirmed_all, wait_for

LIMITS = {"version": 1, "window_hours": 24, "fen": {"per_tx": 5000, "member_day": 8000, "kiosk_total": 12000},
          "points": {"per_tx": 100, "member_day": 150, "kiosk_total": 1000}}


def package(price_fen: int) -> PackagePlan:
    return PackagePlan(code="custom", name="Wash", uses=1, price_fen=price_fen, valid_days=30)


@pytest.fixture
def connect(broker, hq_keys):
    """Makes a kiosk's requester (the app's MQTT connection for questions), subscribed."""
    made = []

    def make(kiosk_id: str = "k1") -> Requester:
        r = Requester(Broker(broker.url), Codec(kiosk_id, verifier=Verifier.load(hq_keys["public"])),
                      topics.SourceTopics("s1", kiosk_id, "ui")).start()
        made.append(r)
        wait_for(r.ready.is_set, what="requester subscribed")
        return r
    yield make
    for r in made:
        r.close()


def guarded(kiosk: Ledger, requester: Requester | None, timeout: float = 5) -> Ledger:
    """The kiosk's ledger as the app opens it: spends guarded by the sync link."""
    return Ledger(kiosk.path, guard=HeadOfficeGuard((lambda: requester) if requester else None, timeout))


def test_online_head_office_approves_and_refuses_on_its_own_balances(broker, start_hub, make_kiosk, start_agent,
                                                                      connect):
    k = make_kiosk("k1")
    k.register(name="Qian Yu", phone="13800006666", card_id="CARD-P", operator="admin")
    k.purchase("CARD-P", lines_from_amount(20000), operator="admin")        # earns 200 points
    k.topup("CARD-P", 3000, operator="admin")
    start_hub(broker.url)
    start_agent(k, broker.url)
    wait_for(lambda: confirmed_all(k), what="confirmed")
    led = guarded(k, connect())

    done = led.purchase("CARD-P", lines_from_amount(1000), points_cash=150, operator="admin")
    assert led.tx_record(done["tx_id"])["data"]["hold"]          # the hold head office made, named in the record
    with pytest.raises(Refused) as refused:
        led.sell_package("CARD-P", package(3001), pay="stored-value", operator="admin")
    assert refused.value.code == "insufficient_stored_value"
    assert led.conn.execute("SELECT COUNT(*) FROM offline_allowances").fetchone() == (0,)


def test_two_kiosks_racing_online_for_the_same_stored_value_get_one_approval(broker, start_hub, make_kiosk,
                                                                             start_agent, connect):
    k1, k2 = make_kiosk("k1"), make_kiosk("k2")
    k1.register(name="Feng Yi", phone="13800005555", card_id="CARD-R", operator="admin")
    k1.topup("CARD-R", 3000, operator="admin")
    hub = start_hub(broker.url)
    start_agent(k1, broker.url)
    start_agent(k2, broker.url)
    wait_for(lambda: confirmed_all(k1) and k2.conn.execute("SELECT principal_fen FROM members").fetchone() == (3000,),
             what="k2 has the member from the feed")
    ledgers = [guarded(k1, connect("k1")), guarded(k2, connect("k2"))]
    start, results = threading.Barrier(2), {}

    def spend(led: Ledger) -> None:
        start.wait()
        try:
            results[led.kiosk_id] = led.sell_package("CARD-R", package(2000), pay="stored-value", operator="admin")
        except Refused as exc:
            results[led.kiosk_id] = exc.code
    threads = [threading.Thread(target=spend, args=(led,)) for led in ledgers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    refusals = [r for r in results.values() if isinstance(r, str)]
    assert len(results) == 2 and refusals == ["insufficient_stored_value"]     # exactly one approved
    winner = next(led for led in ledgers if isinstance(results[led.kiosk_id], dict))
    wait_for(lambda: confirmed_all(winner), what="the winner's sale confirmed")
    held = hub.db.conn.execute("SELECT COUNT(*) FROM hq_spend_holds").fetchone()
    assert held == (0,)                       # the arriving transaction consumed its hold
    (principal,) = hub.db.conn.execute("SELECT principal_fen FROM members").fetchone()
    assert principal == 1000                  # no overdraft, no debt: nothing to correct


def test_without_an_answer_the_offline_limits_decide(broker, make_kiosk, connect):
    k = make_kiosk("k1")            # no hub: questions go unanswered
    for card, phone in (("CARD-Q", "13800007777"), ("CARD-R", "13800008888")):
        k.register(name="Zhou Jie", phone=phone, card_id=card, operator="admin")
        k.topup(card, 20000, operator="admin")
    k.purchase("CARD-Q", lines_from_amount(30000), operator="admin")
    led = guarded(k, connect(), timeout=0.3)
    with pytest.raises(Refused, match="offline_never_synced"):
        led.sell_package("CARD-Q", package(100), pay="stored-value", operator="admin")

    k.set_offline_limits(LIMITS)
    k.heard_from_head_office()

    def refusal(card: str, fen: int = 0, points: int = 0) -> str:
        try:
            if points:
                led.purchase(card, lines_from_amount(10000), points_cash=points, operator="admin")
            else:
                led.sell_package(card, package(fen), pay="stored-value", operator="admin")
        except Refused as exc:
            return exc.code
        return "approved"
    assert refusal("CARD-Q", 5000) == "approved"
    assert refusal("CARD-Q", 5001) == "offline_limit_per_transaction"
    assert refusal("CARD-Q", 3001) == "offline_limit_member_day"           # 5000 + 3001 > 8000
    assert refusal("CARD-Q", points=100) == "approved"                     # another unit
    assert refusal("CARD-R", 5000) == "approved"
    assert refusal("CARD-R", 2001) == "offline_limit_kiosk_total"          # 12001 > 12000
    allowed = k.conn.execute("SELECT unit, SUM(amount) FROM offline_allowances GROUP BY unit ORDER BY unit").fetchall()
    assert allowed == [("fen", 10000), ("points", 100)]


def test_a_blocked_card_is_refused_before_asking(make_kiosk):
    k = make_kiosk("k1")
    k.register(name="Zheng He", phone="13800009999", card_id="CARD-S", operator="admin")
    k.report_lost("CARD-S", operator="admin")
    with pytest.raises(Refused, match="card_blocked|is lost"):
        guarded(k, None).purchase("CARD-S", lines_from_amount(100), points_cash=1, operator="admin")
