"""Points at the counter: into bonus stored value, or to another member (who taps their card). The
cashier types the points and sees what they make first; like every points spend it is authorised by
head office (or the offline limits) before it is written."""
from __future__ import annotations

from kiosk.ledger import InvalidInput, parse_count

from . import messages
from .formatting import count, money
from .i18n import tr
from .keyentry import type_key


class PointsFlow:
    def __init__(self, visit, desk):
        self.visit, self.desk = visit, desk
        self.clear()

    def clear(self) -> None:
        self.points = ""
        self.mode = "convert"
        self.rate: int | None = None      # points per yuan; None: the rules do not allow converting
        self.receiver: dict | None = None  # the member points are given to (card_id, name)

    def start(self) -> None:
        def got(rate):
            self.clear()
            self.rate = rate
            self.desk.show("points", self.render)
        self.visit.run(lambda led: led.rules.conversion and led.rules.conversion.points_per_yuan, got)

    def _typed(self) -> int:
        try:
            return parse_count(self.points or "0", what="points")
        except InvalidInput:
            return 0

    def render(self) -> dict:
        member = self.visit.member
        if member is None:
            return {}
        points = self._typed()
        data = {"points": self.points or "0", "mode": self.mode, "result": "", "ready": False,
                "available": tr._("{n} points available").format(n=count(member["points"]))}
        if self.mode == "transfer":
            data["result"] = (tr._("To {name}").format(name=self.receiver["name"]) if self.receiver
                              else tr._("Tap the receiving member's card."))
            data["ready"] = bool(self.receiver and points and points <= member["points"])
        elif self.rate is None:
            data["result"] = tr._("The rules do not allow converting points into stored value.")
        elif points:
            data["result"] = tr._("Adds {amount} bonus stored value").format(amount=money(points * 100 // self.rate))
            data["ready"] = points <= member["points"]
        return data

    def key(self, key: str) -> None:
        self.points = type_key(self.points, key, decimals=False, max_len=7)
        self.desk.refresh()

    def choose(self, mode: str) -> None:
        self.mode, self.receiver = mode, None
        self.visit.awaiting_card = self._receiver_tapped if mode == "transfer" else None
        self.desk.refresh()

    def _receiver_tapped(self, found: dict) -> None:
        if found["kind"] != "member":
            self.desk.notice(messages.for_failure(found.get("code", "not_a_member"), "", tr._), "error")
        elif found["card_id"] == self.visit.card_id:
            self.desk.notice(tr._("Tap the receiving member's card."), "error")
        else:
            self.receiver = {"card_id": found["card_id"], "name": found["view"]["name_masked"]}
            self.desk.refresh()

    def confirm(self) -> None:
        points, card, operator, receiver = self._typed(), self.visit.card_id, self.visit.operator, self.receiver

        def spend(led):
            if receiver:
                return led.transfer_points(card, receiver["card_id"], points, operator=operator)
            return led.convert_points(card, points, operator=operator)

        def done(result):
            text = (tr._("{n} points given to {name}.").format(n=count(result["points"]), name=receiver["name"])
                    if receiver else tr._("{n} points converted: {amount} added to stored value.").format(
                        n=count(result["points"]), amount=money(result["bonus_fen"])))
            self.desk.notice(text, "ok")
            self.visit.reload_member(self.desk.home)
        self.visit.write(spend, done)
