"""The gift catalogue: members see what they can afford, staff redeem (stock shown, decremented)."""
from __future__ import annotations

from . import services
from .i18n import tr
from .presenter import present_gifts


class GiftFlow:
    def __init__(self, visit, desk):
        self.visit, self.desk = visit, desk
        self.gifts: list[dict] = []

    def clear(self) -> None:
        self.gifts = []

    def open(self) -> None:
        def got(gifts):
            self.gifts = gifts
            self.desk.show("gifts", self.render)
        self.visit.run(services.gift_catalogue, got)

    def render(self) -> dict:
        member, staff = self.visit.member, self.visit.staff
        points = member["points"] if member else None
        rows = present_gifts(self.gifts, points, tr._, tr.n_, tr.lang, can_redeem=bool(staff and member))
        return {"rows": rows, "staff": staff is not None,
                "points": tr._("Your points: {n}").format(n=f"{points:,}") if points is not None else ""}

    def redeem(self, sku: str) -> None:
        gift = next(g for g in self.gifts if g["sku"] == sku)
        name = gift["name_zh"] if tr.lang == "zh_CN" else gift["name"]
        self.desk.confirm(tr._("Redeem {gift} for {points} points?").format(gift=name, points=f"{gift['points']:,}"),
                          lambda: self._redeem(sku, name))

    def _redeem(self, sku: str, name: str) -> None:
        card, operator = self.visit.card_id, self.visit.operator

        def done(result):
            self.desk.notice(tr._("{gift} redeemed. {n} left in stock.").format(gift=name, n=result["stock_left"]), "ok")
            self.visit.reload_member(self.open)

        self.visit.write(lambda led: led.redeem(card, sku, operator=operator), done)

    def scanned(self, code) -> None:
        """A gift's barcode scanned: offer to redeem it when staff serve a member, else show the catalogue."""
        if not any(g["sku"] == code.gtin for g in self.gifts):
            def got(gifts):
                self.gifts = gifts
                self._offer(code.gtin)
            self.visit.run(lambda led: led.gifts(), got)
        else:
            self._offer(code.gtin)

    def _offer(self, sku: str) -> None:
        if not any(g["sku"] == sku for g in self.gifts):
            self.desk.notice(tr._("This gift is not in the catalogue."), "error")
        elif self.visit.staff and self.visit.member:
            self.redeem(sku)
        else:
            self.desk.show("gifts", self.render)
