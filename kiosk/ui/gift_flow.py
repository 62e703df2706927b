"""The gift catalogue: members see what they can afford, staff redeem (stock shown, decremented)."""
from __future__ import annotations

from . import services
from .i18n import tr
from .presenter import present_gifts


class GiftFlow:
    def __init__(self, ctl):
        self.ctl = ctl
        self.gifts: list[dict] = []

    def clear(self) -> None:
        self.gifts = []

    def open(self) -> None:
        def got(gifts):
            self.gifts = gifts
            self.ctl.show("gifts", self.render)
        self.ctl.run(services.gift_catalogue, got)

    def render(self) -> dict:
        member, staff = self.ctl.member, self.ctl.staff
        points = member["points"] if member else None
        rows = present_gifts(self.gifts, points, tr._, tr.n_, tr.lang, can_redeem=bool(staff and member))
        return {"rows": rows, "staff": staff is not None,
                "points": tr._("Your points: {n}").format(n=f"{points:,}") if points is not None else ""}

    def redeem(self, sku: str) -> None:
        gift = next(g for g in self.gifts if g["sku"] == sku)
        name = gift["name_zh"] if tr.lang == "zh_CN" else gift["name"]
        self.ctl.confirm(tr._("Redeem {gift} for {points} points?").format(gift=name, points=f"{gift['points']:,}"),
                         lambda: self._redeem(sku, name))

    def _redeem(self, sku: str, name: str) -> None:
        card, operator, head_office = self.ctl.member["card_id"], self.ctl.staff["staff_id"], self.ctl.ctx.head_office
        points = next(g["points"] for g in self.gifts if g["sku"] == sku)

        def done(result):
            self.ctl.notice(tr._("{gift} redeemed. {n} left in stock.").format(gift=name, n=result["stock_left"]), "ok")
            self.ctl.reload_member(self.open)

        def redeem(led):
            services.authorize_spends(head_office, card, [("gift", points, {"sku": sku})])
            return led.redeem(card, sku, operator=operator)
        self.ctl.write(redeem, done)

    def scanned(self, code) -> None:
        """A gift's barcode scanned: offer to redeem it when staff serve a member, else show the catalogue."""
        if not any(g["sku"] == code.gtin for g in self.gifts):
            def got(gifts):
                self.gifts = gifts
                self._offer(code.gtin)
            self.ctl.run(lambda led: led.gifts(), got)
        else:
            self._offer(code.gtin)

    def _offer(self, sku: str) -> None:
        if not any(g["sku"] == sku for g in self.gifts):
            self.ctl.notice(tr._("This gift is not in the catalogue."), "error")
        elif self.ctl.staff and self.ctl.member:
            self.redeem(sku)
        else:
            self.ctl.show("gifts", self.render)
