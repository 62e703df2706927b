"""Spends ask head office first; without an answer the offline limits decide."""
from __future__ import annotations

from datetime import timedelta

import pytest

from kiosk.ledger import lines_from_amount
from sync.authorize import SpendRequest, authorize
from sync.local import SyncState
from sync.mqtt import Broker
from sync.protocol import Codec, Verifier, topics
from sync.requester import Requester

from .conftest import confirmed_all, wait_for

LIMITS = {"version": 1, "window_hours": 24, "fen": {"per_tx": 5000, "member_day": 8000, "kiosk_total": 12000},
          "points": {"per_tx": 100, "member_day": 150, "kiosk_total": 1000}}


@pytest.fixture
def requester(broker, hq_keys):
    r = Requester(Broker(broker.url), Codec("k1", verifier=Verifier.load(hq_keys["public"])),
                  topics.SourceTopics("s1", "k1", "ui")).start()
    wait_for(r.ready.is_set, what="requester subscribed")
    yield r
    r.close()


def test_online_head_office_approves_and_refuses_on_its_own_balances(broker, start_hub, make_kiosk, start_agent,
                                                                      requester):
    k = make_kiosk("k1")
    k.register(name="Qian Yu", phone="13800006666", card_id="CARD-P", operator="admin")
    k.purchase("CARD-P", lines_from_amount(20000), operator="admin")        # earns 200 points
    k.topup("CARD-P", 3000, operator="admin")
    start_hub(broker.url)
    start_agent(k, broker.url)
    wait_for(lambda: confirmed_all(k), what="confirmed")

    yes = authorize(k, SpendRequest("CARD-P", "points", 150), requester, timeout=5)
    assert (yes.approved, yes.online, yes.balance["points"]) == (True, True, 200)
    no = authorize(k, SpendRequest("CARD-P", "stored_value", 3001), requester, timeout=5)
    assert (no.approved, no.online, no.reason) == (False, True, "insufficient_stored_value")


def test_without_an_answer_the_offline_limits_decide(broker, make_kiosk, requester, clock):
    k = make_kiosk("k1")            # no hub: requests go unanswered
    k.register(name="Zhou Jie", phone="13800007777", card_id="CARD-Q", operator="admin")
    k.register(name="Wu Di", phone="13800008888", card_id="CARD-R", operator="admin")
    never = authorize(k, SpendRequest("CARD-Q", "stored_value", 100), requester, timeout=0.3)
    assert (never.approved, never.online, never.reason) == (False, False, "offline_never_synced")

    state = SyncState(k.conn)
    with state.write():
        state.put("limits", LIMITS)
    state.touch()
    decide = lambda card, spend, amount, **kw: authorize(k, SpendRequest(card, spend, amount), None, **kw)
    assert decide("CARD-Q", "stored_value", 5000).reason == "approved_offline"
    assert decide("CARD-Q", "stored_value", 5001).reason == "offline_limit_per_transaction"
    assert decide("CARD-Q", "stored_value", 3001).reason == "offline_limit_member_day"     # 5000 + 3001 > 8000
    assert decide("CARD-Q", "points", 100).approved                                       # another unit
    assert decide("CARD-R", "stored_value", 5000).approved
    assert decide("CARD-R", "stored_value", 2001).reason == "offline_limit_kiosk_total"    # 12001 > 12000
    later = clock.now() + timedelta(hours=25)
    assert decide("CARD-R", "points", 1, now=later).reason == "offline_window_passed"


def test_a_blocked_card_is_refused_before_asking(make_kiosk):
    k = make_kiosk("k1")
    k.register(name="Zheng He", phone="13800009999", card_id="CARD-S", operator="admin")
    k.report_lost("CARD-S", operator="admin")
    decision = authorize(k, SpendRequest("CARD-S", "points", 1), None)
    assert (decision.approved, decision.reason) == (False, "card_blocked")
