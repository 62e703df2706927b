"""What happens at the counter, without a window: the visit, the flows, what a tap or a scan means,
where "home" and "back" lead, and how a visit ends.

Plain Python (no Kivy). How screens, notices and questions are drawn is left to a subclass:
:class:`kiosk.ui.controller.Controller` draws them with Kivy; the flow tests record them, so every
counter task can be tested against a ledger without a window as well as in the real app.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Callable

from drivers.codes import CouponCode, ProductCode, ReceiptCode

from . import messages
from .card_flow import CardFlow
from .context import KioskContext
from .gift_flow import GiftFlow
from .i18n import tr
from .member_flow import MemberFlow
from .points_flow import PointsFlow
from .presenter import present_campaigns
from .sale_flow import SaleFlow
from .staff_flow import StaffFlow
from .value_flow import ValueFlow
from .visit import Submit, Visit

log = logging.getLogger(__name__)


class Desk(ABC):
    """``submit(job, done, failed)`` runs ledger work (see :class:`Visit`)."""

    def __init__(self, ctx: KioskContext, submit: Submit):
        self.ctx = ctx
        self.visit = Visit(submit, self.on_failure)
        self.status = {"reachable": False, "backlog": 0, "last_contact": None}
        self.devices: list = []                # the readers and scanners (their state shows on the summary)
        self.members = MemberFlow(self.visit, self)
        self.staff_flow = StaffFlow(self.visit, self)
        self.sale = SaleFlow(self.visit, self)
        self.value = ValueFlow(self.visit, self)
        self.cards = CardFlow(self.visit, self)
        self.gifts = GiftFlow(self.visit, self)
        self.points = PointsFlow(self.visit, self)
        self.flows = (self.members, self.staff_flow, self.sale, self.value, self.cards, self.gifts, self.points)

    # -- drawing (the subclass's) ---------------------------------------------------------------
    @property
    @abstractmethod
    def current(self) -> str:
        """The name of the screen shown."""

    @abstractmethod
    def show(self, name: str, render: Callable[[], dict]) -> None:
        """Show screen ``name`` with what ``render`` returns (and again on :meth:`refresh`)."""

    @abstractmethod
    def refresh(self) -> None:
        """Draw the current screen again from its flow's state."""

    @abstractmethod
    def notice(self, text: str, tone: str = "info") -> None:
        """A message over the screen until it is dismissed."""

    @abstractmethod
    def confirm(self, text: str, on_yes: Callable[[], None]) -> None:
        """A question; ``on_yes`` runs if the person agrees."""

    @abstractmethod
    def dismiss_overlays(self) -> None:
        """Close any notice or question."""

    @abstractmethod
    def clear_screens(self) -> None:
        """Empty every screen's data, so nothing of a finished visit stays drawn anywhere."""

    def activity(self) -> None:
        """Someone touched, tapped or scanned (the app restarts its idle timer)."""

    def member_shown(self, started: float) -> None:
        """A member's tap is being drawn (the app measures tap-to-drawn latency)."""

    # -- where things lead --------------------------------------------------------------------
    def on_failure(self, failure) -> None:
        self.notice(messages.for_failure(failure.code, failure.message, tr._), "error")

    def home(self) -> None:
        """The attract screen, or the staff home while staff are signed in."""
        if self.visit.staff:
            self.staff_flow.home()
        else:
            self.show("attract", self.attract_data)

    def back(self) -> None:
        """From a shared screen (the gift catalogue) back to whoever is using the kiosk."""
        if self.visit.staff:
            self.staff_flow.home()
        elif self.visit.member:
            self.members.open(self.visit.member)
        else:
            self.home()

    def attract_data(self) -> dict:
        return {"store": self.ctx.store_name, "offline": not self.status["reachable"],
                "simulate": self.ctx.simulate,
                "campaigns": present_campaigns(self.status.get("campaigns", []), tr._, tr.lang)}

    # -- what the drivers report (on the UI thread) ----------------------------------------------
    def on_card(self, found: dict, started: float) -> None:
        self.activity()
        if self.visit.awaiting_card is not None and found["kind"] != "staff":
            self.visit.awaiting_card(found)
        elif found["kind"] == "staff":
            self.staff_flow.staff_card(found)
        elif found["kind"] == "member":
            if self.visit.staff:
                self.staff_flow.select_member(found["view"])
            else:
                self.members.open(found["view"])
                self.member_shown(started)
        elif found["kind"] == "deferred":       # another store's member this kiosk cannot look up
            if self.visit.staff:
                self.sale.deferred_start(found)
            else:
                self.notice(tr._(messages.DEFERRED_MEMBER), "info")
        elif found["kind"] == "unknown":
            self.notice(tr._(messages.LEDGER["unknown_card"]), "error")
        else:
            self.notice(messages.for_failure(found["code"], "", tr._), "error")

    def on_refused(self, kind: str, reason: str) -> None:
        log.info("%s refused: %s", kind, reason)
        self.activity()
        self.notice(messages.for_reason(reason, tr._), "error")

    def on_code(self, code) -> None:
        self.activity()
        if isinstance(code, ReceiptCode):
            self.members.claim(code)
        elif isinstance(code, CouponCode):
            self.sale.scanned_coupon(code)
        elif isinstance(code, ProductCode):
            self.gifts.scanned(code)

    def on_device(self, event) -> None:
        log.info("device %s: %s", event.device, type(event).__name__)
        if self.current == "summary":
            self.staff_flow.summary()

    def act(self, action: str, arg: str) -> None:
        """A button in a list row (redeem a gift, undo a top-up, use a package...)."""
        handlers = {"redeem": self.gifts.redeem, "undo": self.value.undo, "use": self.value.use,
                    "sell": self.value.sell, "refund_pick": self.sale.refund_pick, "coupon": self.sale.toggle_coupon}
        handlers[action](arg)

    # -- the visit ends -----------------------------------------------------------------------
    def on_idle(self) -> None:
        if self.current != "attract" or self.visit.member or self.visit.staff:
            log.info("idle for %ss: back to the attract screen", self.ctx.idle_timeout_s)
            self.reset()

    def reset(self) -> None:
        """Forget the member and the staff session, and wipe every screen's data."""
        self.visit.end()
        for flow in self.flows:
            flow.clear()
        self.dismiss_overlays()
        self.clear_screens()
        self.show("attract", self.attract_data)
