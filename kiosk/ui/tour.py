"""The scripted walk through every screen: the demo narrates it, the screenshots come from it,
and the layout tests check every stop for text that spills out and targets too small to hit.

It drives a running kiosk (``kiosk --simulate``) through :class:`kiosk.ui.remote.Kiosk`, with
the demo cards and codes, exactly as a member and a cashier would use it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kiosk import demo_data as demo

from .remote import Kiosk, RemoteError


Step = Callable[[Kiosk], None]


@dataclass(frozen=True)
class Stop:
    name: str
    says: str                       # one line of narration for the demo
    steps: tuple[Step, ...]


def press(*aids: str) -> Step:
    return lambda k: k.press(*aids)


def dismiss(k: Kiosk) -> None:
    """Close the notice on screen: OK, unless it already went away by itself (a notice times out
    after a few seconds, which a slow, busy machine can reach between two steps)."""
    try:
        k.press("notice-ok")
    except RemoteError as exc:
        if "nothing visible" not in str(exc):
            raise


def tap(card) -> Step:
    return lambda k: k.tap(card)


def keys(digits: str) -> Step:
    return lambda k: k.keys(digits)


def scan(code: str) -> Step:
    return lambda k: k.scan(demo.demo_codes("store-01")[code])


STOPS = (
    Stop("attract", "The attract screen waits for a card or a phone code.", ()),
    Stop("member", "张三丰 taps his card: tier, points about to expire, stored value, coupons, packages.",
         (tap(demo.ZHANG),)),
    Stop("checkin", "He checks in for today's points.", (press("checkin"),)),
    Stop("gifts", "The gift catalogue shows what his points can buy.", (dismiss, press("gifts"),)),
    Stop("receipt", "He scans a receipt to claim its points.", (press("back"), scan("receipt"))),
    Stop("blocked", "A lost card is refused with a plain message.", (dismiss, press("done"), tap(demo.LOST))),
    Stop("forged", "A forged phone code is refused too.", (dismiss, scan("forged_qr"))),
    Stop("pin", "The cashier taps her staff card and types her PIN.", (dismiss, tap(demo.CASHIER),
                                                                       keys("12"))),
    Stop("staff", "Signed in, she taps Alice's card.", (keys("34"), press("sign-in"), tap(demo.ALICE))),
    Stop("purchase", "A 300.00 purchase with Alice's coupon, paid from stored value, previewed.",
         (press("purchase"), keys("300"), press("coupon-M200-50", "pay-stored-value"))),
    Stop("purchased", "Confirmed: the ledger records it under the cashier's name.", (press("confirm"),)),
    Stop("topup", "A 500.00 top-up shows its bonus before it is confirmed.",
         (dismiss, press("topup"), keys("500"))),
    Stop("refund", "A refund starts from one of Alice's purchases.",
         (press("back", "refund", "refund_pick-0"), keys("50"))),
    Stop("packages", "Packages: use one count, or sell a new one.", (press("back", "packages"),)),
    Stop("redeem", "Staff redeem gifts from the catalogue.", (press("back", "gifts"),)),
    Stop("card", "Report a card lost, replace it, or close the account.", (press("back", "card"),)),
    Stop("register", "A new member is registered without a keyboard: phone on the keypad, the name in pinyin.",
         (press("back", "register"), keys("13512345678"),
          press("field-name", "kb-z", "kb-h", "kb-a", "kb-o", "cand-赵", "kb-l", "kb-i", "kb-u"))),
    Stop("birthday", "The birthday comes from a date picker.",
         (press("cand-六", "field-birthday", "year-10", "month+1", "day+1"),)),
    Stop("consent", "The member agrees to the privacy notice; then a blank card is issued.",
         (press("field-consent", "consent"),)),
    Stop("summary", "Today's figures and the state of the devices and of head office.", (press("back", "summary"),)),
)


def tour(kiosk: Kiosk, out: Path | None = None, suffix: str = "", say: Callable[[str], None] = lambda _s: None) -> list[dict]:
    """Visit every stop; save ``NN-name{suffix}.png`` under ``out``; return what each stop showed."""
    seen = []
    for number, stop in enumerate(STOPS, 1):
        for step in stop.steps:
            step(kiosk)
        kiosk.settle()
        state = kiosk.state()
        if out is not None:
            state["path"] = kiosk.screenshot(Path(out) / f"{number:02d}-{stop.name}{suffix}.png")
        say(f"{number:2d}. {stop.says}")
        seen.append({"stop": stop.name, **state})
    return seen
