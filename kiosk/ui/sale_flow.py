"""Recording a purchase (amount, coupon, points as cash, payment; previewed before confirming)
and refunding one."""
from __future__ import annotations

from kiosk.ledger import InvalidInput, lines_from_amount, parse_count, parse_fen

from . import messages
from .formatting import count, money, typed_money
from .i18n import tr
from .keyentry import type_key
from .presenter import coupon_terms
from .staff_presenter import present_purchases, present_quote, present_refund_split


PRINTED = "printed"     # the coupon list's entry for the scanned printed coupon


class SaleFlow:
    def __init__(self, visit, desk):
        self.visit, self.desk = visit, desk
        self.clear()

    def clear(self) -> None:
        self.amount = self.points = ""
        self.field = "amount"
        self.coupon: str | None = None
        self.printed: tuple[str, int] | None = None      # a scanned printed coupon (campaign, serial)
        self.pay = "external"
        self.quote: dict | None = None
        self.problem = ""
        self._asked = 0
        self.refund_tx: str | None = None
        self.deferred: dict | None = None     # another store's member, by their card's token (no snapshot)

    # -- purchase -----------------------------------------------------------------------------
    def start(self) -> None:
        self.clear()
        self.desk.show("purchase", self.render)

    def deferred_start(self, found: dict) -> None:
        """A purchase by a member this kiosk does not hold, shown by their card's token: paid at the till,
        no coupons, points or stored value; head office prices it and credits the points."""
        self.clear()
        self.visit.member = None          # the member served before is not this one
        self.deferred = found
        self.desk.show("purchase", self.render)

    def _render_deferred(self) -> dict:
        request = self._request()
        amount = request[0] if request else 0
        rows = [{"text": tr._("Amount"), "detail": money(amount), "strong": True},
                {"text": tr._("Points earned"), "detail": tr._("credited by head office"), "strong": False}]
        return {"amount": typed_money(self.amount), "points": "0", "field": "amount", "coupons": [],
                "pay": "external", "quote": rows if amount else [], "payable": money(amount), "problem": self.problem,
                "ready": amount > 0, "available": tr._(messages.DEFERRED_NOTE), "balance": "", "deferred": True}

    def render(self) -> dict:
        if self.deferred is not None:
            return self._render_deferred()
        member = self.visit.member
        if member is None:
            return {}
        coupons = [{"text": coupon_terms(c, tr._), "action": "coupon", "arg": c["code"], "aid": f"coupon-{c['code']}",
                    "tone": "choice", "selected": c["code"] == self.coupon} for c in member["coupons"]]
        if self.printed:
            coupons.append({"text": tr._("Printed coupon {code}").format(code="{} #{}".format(*self.printed)),
                            "action": "coupon", "arg": PRINTED, "aid": "coupon-printed", "tone": "choice",
                            "selected": True})
        return {"amount": typed_money(self.amount), "points": self.points or "0", "field": self.field,
                "coupons": coupons, "pay": self.pay, "quote": present_quote(self.quote, tr._) if self.quote else [],
                "payable": money(self.quote["payable_fen"]) if self.quote else "",
                "problem": self.problem, "ready": self.quote is not None,
                "available": tr._("{n} points available").format(n=count(member["points"])),
                "balance": tr._("Stored value {amount}").format(amount=money(member["principal_fen"] + member["bonus_fen"]))}

    def key(self, key: str) -> None:
        if self.field == "amount":
            self.amount = type_key(self.amount, key)
        else:
            self.points = type_key(self.points, key, decimals=False, max_len=7)
        self.preview()

    def choose(self, field: str) -> None:
        self.field = "amount" if self.deferred else field
        self.desk.refresh()

    def toggle_coupon(self, code: str) -> None:
        """Pick one coupon: one the member holds, or (pressed again) none; the printed one is dropped."""
        self.coupon = None if self.coupon == code or code == PRINTED else code
        self.printed = None
        self.preview()

    def payment(self, pay: str) -> None:
        self.pay = "external" if self.deferred else pay
        self.preview()

    def _request(self) -> tuple | None:
        try:
            amount = parse_fen(self.amount or "0")
            points = parse_count(self.points or "0", what="points", allow_zero=True)
        except InvalidInput:
            return None
        return amount, points

    def preview(self) -> None:
        """Ask the ledger what this purchase would cost and earn; only the latest answer counts."""
        self.quote, self.problem = None, ""
        request = self._request()
        self.desk.refresh()
        if request is None or self.deferred is not None:
            return
        self._asked += 1
        asked, card, coupons, pay = self._asked, self.visit.card_id, [self.coupon] if self.coupon else [], self.pay
        printed = [self.printed] if self.printed else []

        def got(quote):
            if asked == self._asked:
                self.quote = quote.as_dict()
                self.desk.refresh()

        def refused(failure):
            if asked == self._asked:
                self.problem = messages.for_failure(failure.code, failure.message, tr._)
                self.desk.refresh()
        self.visit.run(lambda led: led.preview_purchase(card, lines_from_amount(request[0]), coupons=coupons,
                                                        printed_coupons=printed, points_cash=request[1], pay=pay),
                       got, refused)

    def confirm(self) -> None:
        if self.deferred is not None:
            self._confirm_deferred()
            return
        amount, points = self._request()
        card, operator = self.visit.card_id, self.visit.operator
        coupons, pay = [self.coupon] if self.coupon else [], self.pay
        printed = [self.printed] if self.printed else []

        def purchase(led):      # the ledger asks head office (or the offline limits) before spending
            return led.purchase(card, lines_from_amount(amount), coupons=coupons, printed_coupons=printed,
                                points_cash=points, pay=pay, operator=operator)

        def done(result):
            self.desk.notice(tr._("Paid {amount}. {n} points earned.").format(
                amount=money(result["payable_fen"]), n=count(result["points_earned"])), "ok")
            self.visit.reload_member(self.desk.home)
        self.visit.write(purchase, done)

    def _confirm_deferred(self) -> None:
        found, amount, operator = self.deferred, self._request()[0], self.visit.operator

        def done(result):
            self.deferred = None
            self.desk.home()
            self.desk.notice(tr._("Paid {amount}. Head office will credit the points.").format(
                amount=money(result["amount_fen"])), "ok")
        self.visit.write(lambda led: led.purchase_deferred(found["card_id"], found["member_id"], found["token"],
                                                           lines_from_amount(amount), operator=operator), done)

    def scanned_coupon(self, code) -> None:
        """A printed coupon scanned on the purchase screen is used on this purchase (whoever brings
        it; the ledger refuses a serial already used, and the preview says so)."""
        if self.desk.current != "purchase" or self.visit.member is None:
            self.desk.notice(tr._("Scan coupons while recording a purchase."))
            return
        self.printed, self.coupon = (code.campaign, code.serial), None
        self.preview()

    # -- refund -------------------------------------------------------------------------------
    def refund_start(self) -> None:
        self.clear()
        self.desk.show("refund", self.render_refund)

    def render_refund(self) -> dict:
        member = self.visit.member
        if member is None:
            return {}
        return {"rows": present_purchases(member["history"], tr._, self.desk.ctx.tz, tr.lang, self.refund_tx),
                "amount": typed_money(self.amount), "problem": self.problem,
                "split": present_refund_split(self.quote, tr._) if self.quote else [],
                "ready": self.quote is not None}

    def refund_pick(self, tx_id: str) -> None:
        self.refund_tx = tx_id
        self.refund_preview()

    def refund_key(self, key: str) -> None:
        self.amount = type_key(self.amount, key)
        self.refund_preview()

    def refund_preview(self) -> None:
        """Ask the ledger what this refund gives back (principal, bonus, till, points); latest answer counts."""
        self.quote, self.problem = None, ""
        request = self._request()
        self.desk.refresh()
        if not (self.refund_tx and request and request[0]):
            return
        self._asked += 1
        asked, tx, amount = self._asked, self.refund_tx, request[0]

        def got(split):
            if asked == self._asked:
                self.quote = split
                self.desk.refresh()

        def refused(failure):
            if asked == self._asked:
                self.problem = messages.for_failure(failure.code, failure.message, tr._)
                self.desk.refresh()
        self.visit.run(lambda led: led.preview_refund(tx, amount), got, refused)

    def refund_confirm(self) -> None:
        tx, amount, operator = self.refund_tx, parse_fen(self.amount), self.visit.operator

        def done(result):
            self.desk.notice(tr._("Refunded {amount}. {n} points taken back.").format(
                amount=money(amount), n=count(result["points_taken"])), "ok")
            self.visit.reload_member(self.desk.home)
        self.visit.write(lambda led: led.refund(tx, amount, operator=operator), done)
