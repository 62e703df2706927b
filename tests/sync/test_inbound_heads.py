"""A feed head that arrives while the kiosk's feed request is in flight is not lost: the answer may have
been read before the rows the head announces, and heads go out once per change (sync/inbound.py)."""
from __future__ import annotations

from sync.inbound import ANSWER_WITHIN, Inbound
from sync.local import SyncState


def page(last: int, head: int) -> dict:
    return {"kind": "feed.fetch", "result": {"last": last, "head": head, "records": [], "keys": {}}}


def test_a_head_announced_during_a_request_is_fetched_after_its_answer(make_kiosk):
    asked, kiosk = [], make_kiosk("k1")
    inbound = Inbound(kiosk, SyncState(kiosk), sender=None, ask=lambda kind, args: asked.append(args["after"]))
    inbound.handle({"type": "feed.head", "body": {"head": 4}})
    assert asked == [0]
    inbound.handle({"type": "feed.head", "body": {"head": 5}})      # the request for 4 is still out
    assert asked == [0]
    inbound.handle({"type": "response", "body": page(last=4, head=4)})   # answered before row 5 was numbered
    assert asked == [0, 4]
    inbound.handle({"type": "response", "body": page(last=5, head=5)})
    assert asked == [0, 4]                                          # caught up: nothing more to ask


def test_an_answer_newer_than_every_head_asks_nothing_more(make_kiosk):
    asked, kiosk = [], make_kiosk("k1")
    inbound = Inbound(kiosk, SyncState(kiosk), sender=None, ask=lambda kind, args: asked.append(args["after"]))
    inbound.handle({"type": "feed.head", "body": {"head": 4}})
    inbound.handle({"type": "response", "body": page(last=9, head=9)})
    assert asked == [0]


def test_a_request_no_hub_answered_does_not_stop_the_kiosk_following_heads(make_kiosk):
    """A kiosk's first request went out before any hub had subscribed: no answer ever comes. A head heard
    after the request's time is up asks again (before: nothing until the 30 s feed poll)."""
    now = [1000.0]
    asked, kiosk = [], make_kiosk("k1")
    inbound = Inbound(kiosk, SyncState(kiosk), sender=None, ask=lambda kind, args: asked.append(args["after"]),
                      monotonic=lambda: now[0])
    inbound.fetch(force=True)                                       # on connecting: lost
    inbound.handle({"type": "feed.head", "body": {"head": 3}})
    assert asked == [0]                                             # still within the answer's time
    now[0] += ANSWER_WITHIN + 1
    inbound.handle({"type": "feed.head", "body": {"head": 4}})
    assert asked == [0, 0]
