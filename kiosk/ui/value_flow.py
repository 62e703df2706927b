"""Stored value and packages at the counter: top up (bonus shown first), undo a top-up (managers),
use one count of a package, sell a package."""
from __future__ import annotations

from kiosk.ledger import InvalidInput, parse_fen

from . import services
from .formatting import money, typed_money
from .i18n import tr
from .keyentry import type_key
from .presenter import N_, package_name
from .staff_presenter import allowed, present_bonus_extras, present_packages, present_topups

UNDO_REASONS = (N_("wrong amount"), N_("wrong member"))


class ValueFlow:
    def __init__(self, ctl):
        self.ctl = ctl
        self.clear()

    def clear(self) -> None:
        self.amount = ""
        self.bonus: dict | None = None     # the offer for the amount typed (services.topup_offer)
        self.reason = UNDO_REASONS[0]
        self.plans: list[dict] = []
        self.pay = "external"

    # -- top-up -------------------------------------------------------------------------------
    def topup_start(self) -> None:
        self.clear()
        self.ctl.show("topup", self.render_topup)

    def render_topup(self) -> dict:
        member = self.ctl.member
        if member is None:
            return {}
        balance = member["principal_fen"] + member["bonus_fen"]
        can_undo = allowed(self.ctl.staff["role"], "undo")
        data = {"amount": typed_money(self.amount), "balance": tr._("Balance now {amount}").format(amount=money(balance)),
                "bonus": "", "ready": self.bonus is not None, "reason": self.reason,
                "rows": present_topups(member["history"], tr._, self.ctl.ctx.tz, tr.lang, can_undo),
                "undo_note": "" if can_undo else tr._("Only a manager can undo a top-up.")}
        if self.bonus is not None:
            fen = parse_fen(self.amount)
            data["bonus"] = tr._("Bonus {bonus}: new balance {total}").format(
                bonus=money(self.bonus["bonus_fen"]), total=money(balance + fen + self.bonus["bonus_fen"]))
            data["extras"] = present_bonus_extras(self.bonus, tr._)
        return data

    def key(self, key: str) -> None:
        self.amount, self.bonus = type_key(self.amount, key), None
        self.ctl.refresh()
        try:
            fen = parse_fen(self.amount)
        except InvalidInput:
            return
        typed = self.amount

        def got(bonus):
            if typed == self.amount:
                self.bonus = bonus
                self.ctl.refresh()
        self.ctl.run(lambda led: services.topup_offer(led, fen), got)

    def topup_confirm(self) -> None:
        fen, card, operator = parse_fen(self.amount), self.ctl.member["card_id"], self.ctl.staff["staff_id"]

        def done(result):
            self.ctl.notice(tr._("Topped up {amount} + bonus {bonus}. Balance {total}.").format(
                amount=money(result["principal_fen"]), bonus=money(result["bonus_fen"]),
                total=money(result["balance_fen"])), "ok")
            self.amount, self.bonus = "", None
            self.ctl.reload_member()
        self.ctl.write(lambda led: led.topup(card, fen, operator=operator), done)

    def choose_reason(self, reason: str) -> None:
        self.reason = reason
        self.ctl.refresh()

    def undo(self, tx_id: str) -> None:
        reason, operator = self.reason, self.ctl.staff["staff_id"]

        def undo():
            def done(result):
                self.ctl.notice(tr._("Top-up undone: {amount} + bonus {bonus} taken back.").format(
                    amount=money(result["principal_fen"]), bonus=money(result["bonus_fen"])), "ok")
                self.ctl.reload_member()
            self.ctl.write(lambda led: led.undo_topup(tx_id, reason=reason, operator=operator), done)
        self.ctl.confirm(tr._("Undo this top-up ({reason})?").format(reason=tr._(reason)), undo)

    # -- packages -----------------------------------------------------------------------------
    def packages_start(self) -> None:
        def got(plans):
            self.plans = plans
            self.ctl.show("packages", self.render_packages)
        self.ctl.run(lambda led: [dict(p.__dict__) for p in led.rules.packages], got)

    def render_packages(self) -> dict:
        member = self.ctl.member
        if member is None:
            return {}
        held, sale = present_packages(member["packages"], self.plans, tr._, tr.lang)
        return {"held": held, "plans": sale, "pay": self.pay}

    def payment(self, pay: str) -> None:
        self.pay = pay
        self.ctl.refresh()

    def use(self, package_id: str) -> None:
        card, operator = self.ctl.member["card_id"], self.ctl.staff["staff_id"]

        def done(result):
            self.ctl.notice(tr._("One use recorded. {n} left.").format(n=result["remaining"]), "ok")
            self.ctl.reload_member()
        self.ctl.write(lambda led: led.use_package(card, package_id, operator=operator), done)

    def sell(self, code: str) -> None:
        card, operator, pay = self.ctl.member["card_id"], self.ctl.staff["staff_id"], self.pay
        plan = next(p for p in self.plans if p["code"] == code)

        def sell():
            def done(result):
                self.ctl.notice(tr._("{name} sold: {n} uses until {date}.").format(
                    name=package_name(plan, tr.lang), n=result["uses"], date=result["expires_on"]), "ok")
                self.ctl.reload_member()
            self.ctl.write(lambda led: led.sell_package(card, led.rules.package(code), pay=pay, operator=operator), done)
        self.ctl.confirm(tr._("Sell {name} for {price}?").format(name=package_name(plan, tr.lang), price=money(plan["price_fen"])), sell)
