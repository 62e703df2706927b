"""A member on their own at the kiosk: their home screen, daily check-in, claiming a receipt."""
from __future__ import annotations

from . import services
from .formatting import count
from .i18n import tr
from .presenter import present_member


class MemberFlow:
    def __init__(self, visit, desk):
        self.visit, self.desk = visit, desk

    def clear(self) -> None:
        """Nothing of the member is kept here; the snapshot lives in ``visit.member`` only."""

    def open(self, view: dict) -> None:
        self.visit.member = view
        self.desk.show("member", self.render)

    def render(self) -> dict:
        member = self.visit.member
        return present_member(member, tr._, tr.lang, self.desk.ctx.tz) if member else {}

    def checkin(self) -> None:
        card = self.visit.card_id

        def done(result):
            self.desk.notice(tr._("Checked in: +{n} points").format(n=count(result["points"])), "ok")
            self.visit.reload_member(self.desk.refresh)
        self.visit.write(lambda led: led.checkin(card, operator="self"), done)

    def claim_prompt(self) -> None:
        self.desk.notice(tr._("Scan the code printed on your receipt now."))

    def claim(self, receipt) -> None:
        """A scanned receipt code: claim its points for the member on screen."""
        if self.visit.member is None or self.visit.staff is not None:
            self.desk.notice(tr._("Tap your card first, then scan your receipt."))
            return
        card = self.visit.card_id

        def done(result):
            self.desk.notice(tr._("Receipt claimed: +{n} points").format(n=count(result.get("points", 0))), "ok")
            self.visit.reload_member(self.desk.refresh)
        self.visit.write(lambda led: services.claim_receipt(led, card, receipt), done)

    def done(self) -> None:
        self.desk.reset()
