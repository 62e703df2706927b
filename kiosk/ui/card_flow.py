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
    def __init__(self, visit, desk):
        self.visit, self.desk = visit, desk
        self.clear()

    def clear(self) -> None:
        self.form = RegisterForm()
        self.waiting = False

    def _wait_for_card(self, handler) -> None:
        self.waiting = True
        self.visit.awaiting_card = handler
        self.desk.refresh()

    def _issued(self, card_id: str, text: str) -> None:
        """After a new card is bound: show its member on the staff home."""
        self.waiting = False
        self.visit.awaiting_card = None

        def got(view):
            self._serve(view)
            self.desk.notice(text, "ok")
        self.visit.run(lambda led: services.member_snapshot(led, card_id), got)

    def _serve(self, view: dict | None) -> None:
        """Back to the staff home serving this member (or nobody, after their card is blocked or closed)."""
        self.visit.member = view
        self.desk.home()

    def _refuse_used(self, found: dict) -> bool:
        if found["kind"] == "unknown":
            return False
        self.desk.notice(tr._(messages.LEDGER["card_in_use"]), "error")
        return True

    # -- register -----------------------------------------------------------------------------
    def register_start(self) -> None:
        self.clear()
        self.desk.show("register", self.render_register)

    def render_register(self) -> dict:
        return present_register(self.form.view(), self.waiting, tr._)

    def form_touch(self, method: str, *args) -> None:
        """A touch on the registration form (a key, a candidate, a date step...), then redraw."""
        getattr(self.form, method)(*args)
        self.desk.refresh()

    def step_birthday(self, part: str, delta: int) -> None:
        self.form_touch("step", part, delta, self.desk.ctx.today())

    def issue(self) -> None:
        if not self.form.missing:
            self._wait_for_card(self._register)

    def _register(self, found: dict) -> None:
        if self._refuse_used(found):
            return
        form, card, operator = self.form.register_args(), found["card_id"], self.visit.operator

        def done(result):
            log.info("member %s registered; consented to privacy notice %s", result["member_id"],
                     PRIVACY_NOTICE_VERSION)
            self._issued(card, tr._("Member registered and card issued."))
        self.visit.write(lambda led: led.register(**form, card_id=card, consent=PRIVACY_NOTICE_VERSION,
                                                  operator=operator), done)

    # -- lost, replace, close -----------------------------------------------------------------
    def start(self) -> None:
        self.clear()
        self.desk.show("card", self.render_card)

    def render_card(self) -> dict:
        member = self.visit.member
        if member is None:
            return {}
        return {"member": member_label(member, tr._),
                "card": tr._("Card {card}").format(card=member["card_id"]), "waiting": self.waiting,
                "can_close": allowed(self.visit.role, "close"),
                "close_terms": tr._(CLOSE_TERMS).format(
                    principal=money(member["principal_fen"]), bonus=money(member["bonus_fen"]),
                    points=f"{member['points']:,}")}

    def lost(self) -> None:
        card, operator = self.visit.card_id, self.visit.operator

        def report():
            def done(_result):
                self._serve(None)
                self.desk.notice(tr._("Card {card} is blocked.").format(card=card), "ok")
            self.visit.write(lambda led: led.report_lost(card, operator=operator), done)
        self.desk.confirm(tr._("Report card {card} lost? It is blocked at once.").format(card=card), report)

    def replace(self) -> None:
        self._wait_for_card(self._replace)

    def _replace(self, found: dict) -> None:
        if self._refuse_used(found):
            return
        old, new, operator = self.visit.card_id, found["card_id"], self.visit.operator
        self.visit.write(lambda led: led.replace_card(old, new, operator=operator),
                         lambda _r: self._issued(new, tr._("New card issued; the old card is blocked.")))

    def close(self) -> None:
        card, operator = self.visit.card_id, self.visit.operator

        def close():
            def done(result):
                self._serve(None)
                self.desk.notice(tr._("Account closed. Refund {amount} to the member.").format(
                    amount=money(result["refund_principal_fen"])), "ok")
            self.visit.write(lambda led: led.close_account(card, reason=CLOSE_REASON, operator=operator), done)
        self.desk.confirm(self.render_card()["close_terms"] + "\n" + tr._("Close this account?"), close)

    def cancel(self) -> None:
        self.desk.home()
