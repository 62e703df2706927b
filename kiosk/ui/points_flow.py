"""Points into stored value at the counter: the cashier types the points, sees the bonus it makes,
and confirms; like every points spend it is authorised by head office (or the offline limits) first."""
from __future__ import annotations

from kiosk.ledger import InvalidInput, parse_count

from . import services
from .formatting import count, money
from .i18n import tr
from .keyentry import type_key


class PointsFlow:
    def __init__(self, ctl):
        self.ctl = ctl
        self.clear()

    def clear(self) -> None:
        self.points = ""
        self.rate: int | None = None      # points per yuan; None: the rules do not allow converting

    def convert_start(self) -> None:
        def got(rate):
            self.clear()
            self.rate = rate
            self.ctl.show("convert", self.render)
        self.ctl.run(lambda led: led.rules.conversion and led.rules.conversion.points_per_yuan, got)

    def _typed(self) -> int:
        try:
            return parse_count(self.points or "0", what="points")
        except InvalidInput:
            return 0

    def render(self) -> dict:
        member = self.ctl.member
        if member is None:
            return {}
        points = self._typed()
        data = {"points": self.points or "0", "available": tr._("{n} points available").format(
            n=count(member["points"])), "result": "", "ready": False}
        if self.rate is None:
            data["result"] = tr._("The rules do not allow converting points into stored value.")
        elif points:
            data["result"] = tr._("Adds {amount} bonus stored value").format(amount=money(points * 100 // self.rate))
            data["ready"] = points <= member["points"]
        return data

    def key(self, key: str) -> None:
        self.points = type_key(self.points, key, decimals=False, max_len=7)
        self.ctl.refresh()

    def confirm(self) -> None:
        points, card, operator = self._typed(), self.ctl.member["card_id"], self.ctl.staff["staff_id"]
        head_office = self.ctl.ctx.head_office

        def convert(led):
            services.authorize_spends(head_office, card, [("points", points, {})])
            return led.convert_points(card, points, operator=operator)

        def done(result):
            self.ctl.notice(tr._("{n} points converted: {amount} added to stored value.").format(
                n=count(result["points"]), amount=money(result["bonus_fen"])), "ok")
            self.ctl.reload_member(self.ctl.staff_flow.home)
        self.ctl.write(convert, done)
