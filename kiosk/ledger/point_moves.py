"""Points leaving a member's lots other than by a purchase or a gift: converted into bonus stored
value (积分兑换储值), or given to another member (积分转赠). Both are spends: the member's lots are
drawn soonest-expiring first, within a daily cap the rules set, and the UI asks head office (or
the offline limits) first, as for any points spend.
"""
from __future__ import annotations

from . import guard
from .core import TxBuilder, states_inputs
from .errors import InvalidInput, Refused
from .guard import Spends
from .points import PointsService
from .service import Service


class PointMoveService(Service):
    def __init__(self, core, points: PointsService):
        super().__init__(core)
        self.points = points


    def _ask_points(self, kind: str, card_id: str, points: int, operator: str):
        if not isinstance(points, int) or points <= 0:
            raise InvalidInput("give a positive number of points")
        return guard.ask(self.core, self.member_for_card(card_id), card_id, Spends(points=points), operator=operator,
                         kind=kind)

    def _spendable(self, t: TxBuilder, member: dict, points: int, kind: str, cap: int) -> str:
        """Check the amount against the balance (net of debt) and today's cap; returns the day."""
        if points <= 0:
            raise InvalidInput("give a positive number of points")
        day = t.local.date().isoformat()
        (moved,) = self.conn.execute("SELECT COALESCE(SUM(points), 0) FROM point_moves WHERE from_member = ?"
                                     " AND kind = ? AND day = ?", (member["member_id"], kind, day)).fetchone()
        if moved + points > cap:
            raise Refused(f"at most {cap} points a day ({cap - moved} left today)", "daily_cap")
        have = self.points.available_points(member["member_id"], day) - member["points_debt"]
        if have < points:
            raise Refused(f"only {max(have, 0)} points available, {points} needed", "insufficient_points")
        return day

    @states_inputs
    def convert_points(self, card_id: str, points: int, *, operator: str = "self", at: str | None = None) -> dict:
        """Points into bonus stored value (not refundable principal) at the rules' rate."""
        rule = self.rules.conversion
        if rule is None:
            raise Refused("the rules do not allow converting points into stored value", "not_allowed")
        if points * 100 % rule.points_per_yuan:
            raise InvalidInput(f"points must make whole fen: {rule.points_per_yuan} points are one yuan")
        approval = self._ask_points("convert", card_id, points, operator)
        with self.transaction("convert", operator=operator, at=at, card=card_id) as t:
            member_id = t.member["member_id"]
            guard.charge(self.core, t, approval, Spends(points=points))
            day = self._spendable(t, t.member, points, "convert", rule.daily_cap)
            bonus = points * 100 // rule.points_per_yuan
            lots = self.points.draw(t, member_id, points, "convert")
            t.effect("sv", member_id=member_id, principal=0, bonus=bonus)
            t.effect("points.move", kind="convert", from_member=member_id, day=day, points=points, bonus_fen=bonus)
            t.record["data"].update(points=points, bonus_fen=bonus, lots=lots)
        return {"tx_id": t.tx_id, "points": points, "bonus_fen": bonus, "lots": lots}

    @states_inputs
    def transfer_points(self, card_id: str, to_card: str, points: int, *, operator: str = "self",
                        at: str | None = None) -> dict:
        """Give points to another member: their lots keep the expiry of the lots they came from."""
        rule = self.rules.transfer
        if rule is None:
            raise Refused("the rules do not allow transferring points", "not_allowed")
        approval = self._ask_points("transfer", card_id, points, operator)
        with self.transaction("transfer", operator=operator, at=at, card=card_id) as t:
            sender, receiver = t.member, self.member_for_card(to_card)
            guard.charge(self.core, t, approval, Spends(points=points))
            if receiver["member_id"] == sender["member_id"]:
                raise InvalidInput("a member cannot transfer points to themselves")
            day = self._spendable(t, sender, points, "transfer", rule.daily_cap)
            lots = self.points.draw(t, sender["member_id"], points, "transfer")
            self._receive(t, receiver, lots)
            t.effect("points.move", kind="transfer", from_member=sender["member_id"],
                     to_member=receiver["member_id"], day=day, points=points)
            t.record["data"].update(points=points, to_member=receiver["member_id"], lots=lots)
        return {"tx_id": t.tx_id, "points": points, "to_member": receiver["member_id"], "lots": lots}

    def _receive(self, t: TxBuilder, receiver: dict, lots: list[dict]) -> None:
        """The receiver's debt is repaid first (soonest-expiring points first), the rest keeps its expiry."""
        debt = receiver["points_debt"]
        for i, taken in enumerate(lots):
            repay = min(debt, taken["points"])
            if repay:
                t.effect("debt", member_id=receiver["member_id"], delta=-repay)
                debt -= repay
            if taken["points"] > repay:
                (expires,) = self.conn.execute("SELECT expires_on FROM lots WHERE member_id = ? AND lot_id = ?",
                                               (t.member["member_id"], taken["lot_id"])).fetchone()
                t.effect("lot.add", lot_id=f"{t.tx_id}:t{i}", member_id=receiver["member_id"],
                         points=taken["points"] - repay, expires_on=expires)
