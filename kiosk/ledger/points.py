"""Points: lots with expiry, earning (debt first), spending soonest-expiring first, expiry, tiers.

These are the building blocks the operations use, plus the operations that are about points
alone: check-in, manual adjustment, gift redemption, the expiry run and tier evaluation.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from . import guard, keyed
from .benefits import apply_all, earn_effects
from .core import TxBuilder, states_inputs
from .dates import add_months, from_utc_text, to_utc_text
from .errors import InvalidInput, NotFound, Refused
from .holdings import available_points
from .guard import Spends
from .pricing import Line, earn_points
from .rules import Tier
from .service import Service


class PointsService(Service):
    """Points: lots, earning and drawing, tiers; check-in, receipts, adjustments, gifts, expiry."""

    # -- building blocks -----------------------------------------------------------------------
    def available_points(self, member_id: str, local_day: str) -> int:
        return available_points(self.conn, member_id, local_day)

    def earn(self, t: TxBuilder, member_id: str, points: int, suffix: str = "p") -> str | None:
        """Add earned points: repay any debt first, put the rest in a new lot. Returns the lot id."""
        effects = earn_effects(self.conn, self.rules, member_id, points, f"{t.tx_id}:{suffix}", t.local.date())
        apply_all(t, effects)
        return effects[-1]["lot_id"] if effects and effects[-1]["op"] == "lot.add" else None

    def draw(self, t: TxBuilder, member_id: str, points: int, why: str, *, first_lot: str | None = None,
             into_debt: bool = False) -> list[dict]:
        """Take points from valid lots, soonest-expiring first (``first_lot`` before all others).

        Refused when short, unless ``into_debt``: then the shortfall is recorded as a debt.
        """
        day = t.local.date().isoformat()
        lots = self.conn.execute(
            keyed.LOTS_TO_DRAW, (member_id, day, first_lot or "")).fetchall()
        have = sum(r for _, r in lots)
        if have < points and not into_debt:
            raise Refused(f"only {have} points available, {points} needed", "insufficient_points")
        taken, need = [], points
        for lot_id, remaining in lots:
            if need == 0:
                break
            take = min(need, remaining)
            t.effect("lot.take", lot_id=lot_id, member_id=member_id, points=take, why=why)
            taken.append({"lot_id": lot_id, "points": take})
            need -= take
        if need:
            t.effect("debt", member_id=member_id, delta=need)
        return taken

    def qualifying_total(self, member_id: str, moment: datetime) -> int:
        since = add_months(moment.date(), -self.rules.tier_window_months)
        start = moment.replace(year=since.year, month=since.month, day=since.day)
        (total,) = self.conn.execute(keyed.QUALIFYING_SINCE, (member_id, to_utc_text(start))).fetchone()
        return total

    def tier_for(self, total: int) -> Tier:
        return [t for t in self.rules.tiers if t.threshold <= max(total, 0)][-1]

    def tier_rank(self, tier_id: str) -> int:
        return next((i for i, t in enumerate(self.rules.tiers) if t.id == tier_id), 0)

    def upgrade_if_qualified(self, t: TxBuilder, member_id: str, current: str) -> None:
        """Upgrade at once when qualifying spend (or points) reaches a higher tier."""
        earned = self.tier_for(self.qualifying_total(member_id, t.moment))
        if self.tier_rank(earned.id) > self.tier_rank(current):
            t.effect("tier", member_id=member_id, tier=earned.id, previous=current)

    # -- operations ----------------------------------------------------------------------------
    @states_inputs
    def checkin(self, card_id: str, *, operator: str = "self", at: str | None = None) -> dict:
        with self.transaction("checkin", operator=operator, at=at, card=card_id) as t:
            member = t.member
            day = t.local.date().isoformat()
            if self.conn.execute(keyed.CHECKED_IN, (member["member_id"], day)).fetchone():
                raise Refused("already checked in today", "already_checked_in")
            t.effect("checkin", member_id=member["member_id"], day=day)
            self.earn(t, member["member_id"], self.rules.checkin_points)
            t.record["data"] = {"points": self.rules.checkin_points, "day": day}
        return {"tx_id": t.tx_id, "points": self.rules.checkin_points}

    @states_inputs
    def claim_receipt(self, card_id: str, *, store_id: str, pos_txn: str, amount_fen: int, issued_at: int,
                      operator: str = "self", at: str | None = None) -> dict:
        """Points for a purchase made without the card, from the POS's signed receipt (verified by
        the caller). Earned as on the day of the receipt; each receipt is claimable once."""
        if amount_fen <= 0:
            raise InvalidInput("a receipt needs a positive amount")
        receipt = f"{store_id}/{pos_txn}"
        issued = datetime.fromtimestamp(issued_at, timezone.utc)
        with self.transaction("receipt_claim", operator=operator, at=at, card=card_id,
                              data={"receipt": receipt, "amount_fen": amount_fen, "issued_at": to_utc_text(issued)}) as t:
            member_id = t.member["member_id"]
            if self.conn.execute("SELECT 1 FROM receipt_claims WHERE receipt = ?", (receipt,)).fetchone():
                raise Refused(f"receipt {receipt} was already claimed", "already_claimed")
            days = self.rules.receipt_claim_days
            if issued > t.moment + timedelta(minutes=10) or t.moment - issued > timedelta(days=days):
                raise Refused(f"receipts can be claimed for {days} days after the purchase", "receipt_too_old")
            birthday = date.fromisoformat(t.member["birthday"]) if t.member["birthday"] else None
            points, names = earn_points(self.rules, [Line(amount_fen)], [amount_fen], issued.astimezone(self.tz),
                                        birthday, self.rules.tier(t.member["tier"]).earn_multiplier)
            t.effect("receipt", receipt=receipt, member_id=member_id, points=points)
            if self.rules.spend_based:
                t.effect("qualify", member_id=member_id, amount=amount_fen, at=to_utc_text(issued))
            self.earn(t, member_id, points)
            self.upgrade_if_qualified(t, member_id, t.member["tier"])
            t.record["data"].update(points=points, multipliers=list(names))
        return {"tx_id": t.tx_id, "points": points, "receipt": receipt}

    @states_inputs
    def adjust(self, card_id: str, points: int, *, reason: str, operator: str, at: str | None = None) -> dict:
        """A manager's correction: positive adds a lot, negative draws (refused when short)."""
        reason = self.require_reason(reason, "a points adjustment")
        if points == 0:
            raise Refused("an adjustment of 0 points changes nothing", "nothing_to_do")
        with self.transaction("adjust", operator=operator, at=at, card=card_id, card_active=False, reason=reason,
                              data={"points": points}) as t:
            member = t.member
            if points > 0:
                self.earn(t, member["member_id"], points)
            else:
                self.draw(t, member["member_id"], -points, "adjust")
        return {"tx_id": t.tx_id, "points": points}

    @states_inputs
    def redeem(self, card_id: str, sku: str, *, operator: str, at: str | None = None) -> dict:
        """Exchange points for a gift from this store's stock."""
        spends = self._gift_spends(sku)
        approval = guard.ask(self.core, self.member_for_card(card_id), card_id, spends, operator=operator, kind="redeem")
        with self.transaction("redeem", operator=operator, at=at, card=card_id) as t:
            member, spends = t.member, self._gift_spends(sku)
            guard.charge(self.core, t, approval, spends)
            t.record["data"].update(sku=sku, points=spends.points)
            row = self.conn.execute("SELECT stock FROM stock WHERE store_id = ? AND sku = ?",
                                    (self.store_id, sku)).fetchone()
            if not row or row[0] <= 0:
                raise Refused(f"gift {sku} is out of stock", "out_of_stock")
            t.record["data"]["lots"] = self.draw(t, member["member_id"], spends.points, "redeem")
            t.effect("stock", sku=sku, delta=-1)
        return {"tx_id": t.tx_id, "sku": sku, "points": spends.points, "stock_left": row[0] - 1}

    def _gift_spends(self, sku: str) -> Spends:
        gift = self.rules.gift(sku)
        if gift is None:
            raise NotFound(f"gift {sku} is not in the catalogue", "unknown_gift")
        return Spends(points=gift.points, gifts=(sku,))

    @states_inputs
    def expire(self, *, at: str | None = None, operator: str = "admin") -> dict:
        """Expire what is left of lots and packages past their last day: one transaction per member."""
        done = []
        day = self._local_day(at)
        members = [m for (m,) in self.conn.execute(
            "SELECT DISTINCT member_id FROM lots WHERE remaining > 0 AND expires_on < ?"
            " UNION SELECT DISTINCT member_id FROM packages WHERE remaining > 0 AND expires_on < ?",
            (day, day))]
        for member_id in members:
            with self.transaction("expire", operator=operator, at=at, member_id=member_id) as t:
                points = 0
                for lot_id, remaining in self.conn.execute(
                        "SELECT lot_id, remaining FROM lots WHERE member_id = ? AND remaining > 0 AND expires_on < ?",
                        (member_id, day)).fetchall():
                    t.effect("lot.take", lot_id=lot_id, member_id=member_id, points=remaining, why="expire")
                    points += remaining
                for package_id, remaining in self.conn.execute(
                        "SELECT package_id, remaining FROM packages WHERE member_id = ? AND remaining > 0"
                        " AND expires_on < ?", (member_id, day)).fetchall():
                    t.effect("package.take", package_id=package_id, uses=remaining, status="expired")
                t.record["data"] = {"points": points, "day": day}
            done.append({"tx_id": t.tx_id, "member_id": member_id, "points": points})
        return {"expired": done, "day": day}

    @states_inputs
    def evaluate_tiers(self, *, at: str | None = None, operator: str = "admin") -> dict:
        """Downgrade members whose qualifying total fell, once the hold period has passed."""
        moment = self.moment(at)
        changed = []
        rows = self.conn.execute("SELECT member_id, tier, tier_since FROM members WHERE status = 'active'").fetchall()
        for member_id, tier, since in rows:
            earned = self.tier_for(self.qualifying_total(member_id, moment))
            hold_end = add_months(from_utc_text(since).date(), self.rules.tier_hold_months)
            if self.tier_rank(earned.id) >= self.tier_rank(tier) or moment.date() < hold_end:
                continue
            with self.transaction("tier", operator=operator, at=at, member_id=member_id) as t:
                t.effect("tier", member_id=member_id, tier=earned.id, previous=tier)
            changed.append({"tx_id": t.tx_id, "member_id": member_id, "from": tier, "to": earned.id})
        return {"changed": changed}

    def _local_day(self, at: str | None) -> str:
        return self.local_moment(at).date().isoformat()
