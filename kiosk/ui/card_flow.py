"""Cards at the counter: register a member and issue a blank card, report lost, replace, close."""
from __future__ import annotations

import logging

from . import messages, services
from .formatting import money
from .i18n import tr
from .presenter import N_
from .register_form import RegisterForm
from .staff_presenter import PRIVACY_NOTICE_VERSION, allowed, member_label, present_register

log = logging.getLogger(__name__)

CLOSE_REASON = N_("member asked to close the account")
CLOSE_TERMS = N_("Closing refunds {principal} and forfeits the bonus {bonus}, {points} points and all packages.")


class CardFlow:
    def __init__(self, ctl):
        self.ctl = ctl
        self.clear()

    def clear(self) -> None:
        self.form = RegisterForm()
        self.waiting = False

    def _wait_for_card(self, handler) -> None:
        self.waiting = True
        self.ctl.awaiting_card = handler
        self.ctl.refresh()

    def _issued(self, card_id: str, text: str) -> None:
        """After a new card is bound: show its member on the staff home."""
        self.waiting = False
        self.ctl.awaiting_card = None

        def got(view):
            self.ctl.staff_flow.select_member(view)
            self.ctl.notice(text, "ok")
        self.ctl.run(lambda led: services.member_snapshot(led, card_id), got)

    def _refuse_used(self, found: dict) -> bool:
        if found["kind"] == "unknown":
            return False
        self.ctl.notice(tr._(messages.LEDGER["card_in_use"]), "error")
        return True

    # -- register -----------------------------------------------------------------------------
    def register_start(self) -> None:
        self.clear()
        self.ctl.show("register", self.render_register)

    def render_register(self) -> dict:
        return present_register(self.form.view(), self.waiting, tr._)

    def form_touch(self, method: str, *args) -> None:
        """A touch on the registration form (a key, a candidate, a date step...), then redraw."""
        getattr(self.form, method)(*args)
        self.ctl.refresh()

    def step_birthday(self, part: str, delta: int) -> None:
        self.form_touch("step", part, delta, self.ctl.ctx.today())

    def issue(self) -> None:
        if not self.form.missing:
            self._wait_for_card(self._register)

    def _register(self, found: dict) -> None:
        if self._refuse_used(found):
            return
        form, card, operator = self.form.register_args(), found["card_id"], self.ctl.staff["staff_id"]

        def done(result):
            log.info("member %s registered; consented to privacy notice %s", result["member_id"],
                     PRIVACY_NOTICE_VERSION)
            self._issued(card, tr._("Member registered and card issued."))
        self.ctl.write(lambda led: led.register(**form, card_id=card, consent=PRIVACY_NOTICE_VERSION,
                                                operator=operator), done)

    # -- lost, replace, close -----------------------------------------------------------------
    def start(self) -> None:
        self.clear()
        self.ctl.show("card", self.render_card)

    def render_card(self) -> dict:
        member = self.ctl.member
        if member is None:
            return {}
        return {"member": member_label(member, tr._),
                "card": tr._("Card {card}").format(card=member["card_id"]), "waiting": self.waiting,
                "can_close": allowed(self.ctl.staff["role"], "close"),
                "close_terms": tr._(CLOSE_TERMS).format(
                    principal=money(member["principal_fen"]), bonus=money(member["bonus_fen"]),
                    points=f"{member['points']:,}")}

    def lost(self) -> None:
        card, operator = self.ctl.member["card_id"], self.ctl.staff["staff_id"]

        def report():
            def done(_result):
                self.ctl.staff_flow.clear_member()
                self.ctl.notice(tr._("Card {card} is blocked.").format(card=card), "ok")
            self.ctl.write(lambda led: led.report_lost(card, operator=operator), done)
        self.ctl.confirm(tr._("Report card {card} lost? It is blocked at once.").format(card=card), report)

    def replace(self) -> None:
        self._wait_for_card(self._replace)

    def _replace(self, found: dict) -> None:
        if self._refuse_used(found):
            return
        old, new, operator = self.ctl.member["card_id"], found["card_id"], self.ctl.staff["staff_id"]
        self.ctl.write(lambda led: led.replace_card(old, new, operator=operator),
                     lambda _r: self._issued(new, tr._("New card issued; the old card is blocked.")))

    def close(self) -> None:
        card, operator = self.ctl.member["card_id"], self.ctl.staff["staff_id"]

        def close():
            def done(result):
                self.ctl.staff_flow.clear_member()
                self.ctl.notice(tr._("Account closed. Refund {amount} to the member.").format(
                    amount=money(result["refund_principal_fen"])), "ok")
            self.ctl.write(lambda led: led.close_account(card, reason=CLOSE_REASON, operator=operator), done)
        self.ctl.confirm(self.render_card()["close_terms"] + "\n" + tr._("Close this account?"), close)

    def cancel(self) -> None:
        self.ctl.staff_flow.home()
