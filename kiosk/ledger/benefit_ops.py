"""Benefits paid out at the kiosk: the tier's birthday coupon and top-up bonus instalments, on the
member's first visit once they are due; and the top-up side of richer bonuses (the first part paid
with the top-up, the rest planned; undoing the top-up cancels what is unpaid and takes back what
was paid, refused once any paid part has been spent).
"""
from __future__ import annotations

from .benefits import (apply_all, birthday_due, birthday_effects, bonus_parts, due_parts, part_key, pay_part_effects,
                       payout_effects)
from .core import TxBuilder, states_inputs
from .errors import Refused
from .service import Service


NOTHING_DUE = {"birthday_coupon": "", "instalments": []}


class BenefitService(Service):

    def benefits_due(self, card_id: str, *, at: str | None = None) -> dict:
        """What a visit now would pay out (read only: the tap screen asks before writing)."""
        member = self.member_for_card(card_id)
        day = self.local_moment(at).date()
        return {"birthday_coupon": birthday_due(self.conn, self.rules, member, day),
                "instalments": due_parts(self.conn, day, member["member_id"])}

    @states_inputs
    def visit(self, card_id: str, *, operator: str = "self", at: str | None = None) -> dict:
        """Pay out what is due to a member who shows up: the birthday coupon (once a year) and every
        top-up instalment due by today. Writes nothing when nothing is due."""
        due = self.benefits_due(card_id, at=at)
        if not due["birthday_coupon"] and not due["instalments"]:
            return dict(NOTHING_DUE)
        try:
            return self._pay_due(card_id, operator, at)
        except Refused as exc:     # paid meanwhile by another process (head office's feed)
            if exc.code != "nothing_to_do":
                raise
            return dict(NOTHING_DUE)

    def _pay_due(self, card_id: str, operator: str, at: str | None) -> dict:
        with self.transaction("benefits", operator=operator, at=at, card=card_id) as t:
            member, day = t.member, t.local.date()
            birthday = birthday_effects(self.conn, self.rules, member, t.tx_id, day)
            apply_all(t, birthday)
            paid = []
            for part in due_parts(self.conn, day, member["member_id"]):
                apply_all(t, pay_part_effects(self.conn, self.rules, part, t.tx_id, day))
                paid.append(part)
            t.record["data"] = {"birthday_coupon": birthday[-1]["code"] if birthday else "",
                                "instalments": paid, "points": sum(p["points"] for p in paid),
                                "bonus_fen": sum(p["bonus_fen"] for p in paid)}
        return {"tx_id": t.tx_id, **t.record["data"]}

    # -- the top-up side ---------------------------------------------------------------------------
    def grant_topup_bonus(self, t: TxBuilder, member_id: str, amount_fen: int) -> None:
        """Plan a richer bonus's parts and pay the first with the top-up (its stored value is already
        in the top-up's own ``sv`` effect). A plain one-part stored-value bonus needs no plan."""
        step = self.rules.bonus_step(amount_fen)
        if step is None or (step.instalments == 1 and not (step.points or step.coupon or step.package)):
            return
        day = t.local.date()
        parts = bonus_parts(step, member_id, day)
        for part in parts:
            t.effect("instalment.add", paid=part["part"] == 1, **part)
        first = {**parts[0], "topup_tx": t.tx_id, "bonus_fen": 0}
        apply_all(t, payout_effects(self.conn, self.rules, first, t.tx_id, day))
        t.record["data"].update(points=parts[0]["points"], coupon=step.coupon, package=step.package,
                                instalments=step.instalments)

    def take_back_topup_bonus(self, t: TxBuilder, topup_tx: str) -> dict:
        """Cancel unpaid parts; take back paid points, coupons and packages. Refused once any of them
        was used. Returns the stored-value bonus and points of the parts paid after the top-up."""
        rows = self.conn.execute("SELECT part, member_id, bonus_fen, points, coupon, package, status, paid_tx"
                                 " FROM instalments WHERE topup_tx = ? ORDER BY part", (topup_tx,)).fetchall()
        later_bonus = points_back = 0
        for part, member_id, bonus, points, coupon, package, status, paid_tx in rows:
            if status == "due":
                t.effect("instalment.cancel", topup_tx=topup_tx, part=part)
                continue
            key = part_key(paid_tx, topup_tx, part)
            if points:
                points_back += self._take_back_points(t, member_id, key % "i", points)
            if coupon:
                (used,) = self.conn.execute("SELECT used_tx FROM coupons WHERE coupon_id = ?", (key % "c",)).fetchone()
                if used:
                    raise Refused("a coupon of this top-up's bonus has been used", "topup_spent")
                t.effect("coupon.use", coupon_id=key % "c")
            if package:
                (uses, left) = self.conn.execute("SELECT uses, remaining FROM packages WHERE package_id = ?",
                                                 (key % "k",)).fetchone()
                if left < uses:
                    raise Refused("a package of this top-up's bonus has been used", "topup_spent")
                t.effect("package.take", package_id=key % "k", uses=left, status="cancelled")
            later_bonus += bonus if part > 1 else 0
        return {"bonus_fen": later_bonus, "points": points_back}

    def _take_back_points(self, t: TxBuilder, member_id: str, lot_id: str, points: int) -> int:
        """All of a bonus lot, refused when any of it was spent; points that repaid a debt become debt again."""
        row = self.conn.execute("SELECT points, remaining FROM lots WHERE member_id = ? AND lot_id = ?",
                                (member_id, lot_id)).fetchone()
        in_lot, left = row or (0, 0)
        if left < in_lot:
            raise Refused("points of this top-up's bonus have been spent", "topup_spent")
        if left:
            t.effect("lot.take", lot_id=lot_id, member_id=member_id, points=left, why="topup_undo")
        if points > in_lot:
            t.effect("debt", member_id=member_id, delta=points - in_lot)
        return points
