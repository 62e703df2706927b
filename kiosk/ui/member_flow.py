"""A member on their own at the kiosk: their home screen, daily check-in, claiming a receipt."""
from __future__ import annotations

from . import services
from .formatting import count
from .i18n import tr
from .presenter import present_member


class MemberFlow:
    def __init__(self, ctl):
        self.ctl = ctl

    def clear(self) -> None:
        """Nothing of the member is kept here; the snapshot lives in ``ctl.member`` only."""

    def open(self, view: dict) -> None:
        self.ctl.member = view
        self.ctl.show("member", self.render)

    def render(self) -> dict:
        member = self.ctl.member
        return present_member(member, tr._, tr.lang, self.ctl.ctx.tz) if member else {}

    def checkin(self) -> None:
        card = self.ctl.member["card_id"]

        def done(result):
            self.ctl.notice(tr._("Checked in: +{n} points").format(n=count(result["points"])), "ok")
            self.ctl.reload_member()
        self.ctl.write(lambda led: led.checkin(card, operator="self"), done)

    def claim_prompt(self) -> None:
        self.ctl.notice(tr._("Scan the code printed on your receipt now."))

    def claim(self, receipt) -> None:
        """A scanned receipt code: claim its points for the member on screen."""
        if self.ctl.member is None or self.ctl.staff is not None:
            self.ctl.notice(tr._("Tap your card first, then scan your receipt."))
            return
        card = self.ctl.member["card_id"]

        def done(result):
            self.ctl.notice(tr._("Receipt claimed: +{n} points").format(n=count(result.get("points", 0))), "ok")
            self.ctl.reload_member()
        self.ctl.write(lambda led: services.claim_receipt(led, card, receipt), done)

    def done(self) -> None:
        self.ctl.reset()
