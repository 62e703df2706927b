"""Stored value (储值) top-ups and their undo, counted-use packages (计次卡), coupon issue."""
from __future__ import annotations

from datetime import timedelta

from . import guard, keyed
from .benefit_ops import BenefitService
from .benefits import part_share
from .dates import from_utc_text
from .errors import InvalidInput, NotFound, Refused
from .guard import Spends
from .money import format_fen
from .pricing import split_stored_value
from .rules import PackagePlan
from .core import states_inputs
from .service import Service


class ValueService(Service):
    def __init__(self, core, benefits: BenefitService):
        super().__init__(core)
        self.benefits = benefits


    def topup_bonus(self, amount_fen: int) -> int:
        """The stored-value bonus paid with the top-up: the first part of the highest step reached."""
        step = self.rules.bonus_step(amount_fen)
        return part_share(step.bonus_fen, step.instalments, 0) if step else 0

    @states_inputs
    def topup(self, card_id: str, amount_fen: int, *, operator: str, at: str | None = None) -> dict:
        if amount_fen <= 0:
            raise InvalidInput("a top-up must be more than 0")
        bonus = self.topup_bonus(amount_fen)
        with self.transaction("topup", operator=operator, at=at, card=card_id,
                              data={"amount_fen": amount_fen, "bonus_fen": bonus}) as t:
            member = t.member
            cap = self.rules.stored_value_cap_fen
            if cap and member["principal_fen"] + amount_fen > cap:
                raise Refused(f"stored value is capped at {format_fen(cap)}: at most "
                              f"{format_fen(max(cap - member['principal_fen'], 0))} more can be topped up",
                              "stored_value_cap")
            t.effect("sv", member_id=member["member_id"], principal=amount_fen, bonus=bonus)
            t.effect("topup", member_id=member["member_id"], principal=amount_fen, bonus=bonus)
            self.benefits.grant_topup_bonus(t, member["member_id"], amount_fen)
        extras = {k: v for k, v in t.record["data"].items() if k not in ("amount_fen", "bonus_fen")}
        return {"tx_id": t.tx_id, "principal_fen": amount_fen, "bonus_fen": bonus,
                "balance_fen": member["principal_fen"] + member["bonus_fen"] + amount_fen + bonus, **extras}

    @states_inputs
    def undo_topup(self, topup_tx: str, *, reason: str, operator: str, at: str | None = None) -> dict:
        """A manager takes back a mistaken top-up within the window, unless any of it was spent."""
        reason = self.require_reason(reason, "undoing a top-up")
        with self.transaction("topup_undo", operator=operator, at=at, reason=reason, ref_tx=topup_tx) as t:
            row = self.conn.execute("SELECT member_id, principal_fen, bonus_fen, at, undone_by FROM topups"
                                    " WHERE tx_id = ?", (topup_tx,)).fetchone()
            if row is None:
                raise NotFound(f"{topup_tx} is not a top-up", "unknown_tx")
            member_id, principal, bonus, topped_at, undone_by = row
            t.record["member_id"] = member_id
            if undone_by:
                raise Refused(f"top-up already undone by {undone_by}", "already_undone")
            window = timedelta(minutes=self.rules.undo_window_minutes)
            if t.moment - from_utc_text(topped_at) > window:
                raise Refused(f"top-ups can only be undone within {self.rules.undo_window_minutes} minutes",
                              "undo_window_passed")
            if self.conn.execute(keyed.SPENT_SINCE, (member_id, topped_at)).fetchone():
                raise Refused("stored value has been spent since this top-up", "topup_spent")
            later = self.benefits.take_back_topup_bonus(t, topup_tx)
            bonus += later["bonus_fen"]
            t.effect("sv", member_id=member_id, principal=-principal, bonus=-bonus)
            t.effect("topup.undo", topup_tx=topup_tx)
            t.record["data"] = {"principal_fen": principal, "bonus_fen": bonus, "points": later["points"]}
        return {"tx_id": t.tx_id, "undone": topup_tx, **t.record["data"]}

    @states_inputs
    def sell_package(self, card_id: str, plan: PackagePlan, *, pay: str = "external", operator: str,
                     at: str | None = None) -> dict:
        """Sell N uses valid for some days; paid outside or from stored value (earns no points)."""
        if pay not in ("external", "stored-value"):
            raise InvalidInput(f"payment {pay!r} is not 'external' or 'stored-value'")
        spends = Spends(stored_value_fen=plan.price_fen if pay == "stored-value" else 0)
        approval = guard.ask(self.core, self.member_for_card(card_id), card_id, spends, operator=operator, kind="package_sell")
        with self.transaction("package_sell", operator=operator, at=at, card=card_id) as t:
            member, member_id = t.member, t.member["member_id"]
            guard.charge(self.core, t, approval, spends)
            principal = bonus = 0
            if pay == "stored-value" and plan.price_fen:
                principal, bonus = split_stored_value(plan.price_fen, member["principal_fen"], member["bonus_fen"])
                t.effect("sv", member_id=member_id, principal=-principal, bonus=-bonus)
            package_id = f"{t.tx_id}:k"
            expires = (t.local.date() + timedelta(days=plan.valid_days - 1)).isoformat()
            t.effect("package.add", package_id=package_id, member_id=member_id, code=plan.code, name=plan.name,
                     uses=plan.uses, expires_on=expires)
            t.record["data"].update(code=plan.code, uses=plan.uses, price_fen=plan.price_fen, pay=pay,
                                    sv_principal_fen=principal, sv_bonus_fen=bonus)
        return {"tx_id": t.tx_id, "package_id": package_id, "uses": plan.uses, "expires_on": expires}

    @states_inputs
    def use_package(self, card_id: str, package: str | None = None, *, operator: str,
                    at: str | None = None) -> dict:
        """Use one count of a package (by id or plan code; default: the soonest-expiring)."""
        member = self.member_for_card(card_id)
        chosen, _ = self._package_to_use(member["member_id"], package, self.local_moment(at).date().isoformat())
        approval = guard.ask(self.core, member, card_id, Spends(packages=(chosen,)), operator=operator,
                             kind="package_use")
        with self.transaction("package_use", operator=operator, at=at, card=card_id) as t:
            package_id, remaining = self._package_to_use(t.member["member_id"], package, t.local.date().isoformat())
            guard.charge(self.core, t, approval, Spends(packages=(package_id,)))
            t.effect("package.take", package_id=package_id, uses=1)
            t.record["data"].update(package_id=package_id, remaining=remaining - 1)
        return {"tx_id": t.tx_id, "package_id": package_id, "remaining": remaining - 1}

    def _package_to_use(self, member_id: str, package: str | None, day: str) -> tuple[str, int]:
        """The package a use comes from (by id or plan code; default: the soonest-expiring) and its uses left."""
        named = " AND (package_id = ? OR code = ?)" if package else ""   # no "? IS NULL": head office's
        row = self.conn.execute(                                         # PostgreSQL replays this
            "SELECT package_id, remaining FROM packages WHERE member_id = ? AND remaining > 0 AND status = 'active'"
            f" AND expires_on >= ?{named} ORDER BY expires_on, package_id LIMIT 1",
            (member_id, day, *([package, package] if package else []))).fetchone()
        if row is None:
            raise Refused("no package with uses left" + (f" matching {package}" if package else ""), "no_package")
        return row

    @states_inputs
    def issue_coupon(self, card_id: str, code: str, *, operator: str, at: str | None = None) -> dict:
        coupon = self.rules.coupon(code)
        if coupon is None:
            raise NotFound(f"coupon {code} is not defined in the rules", "unknown_coupon")
        with self.transaction("coupon_issue", operator=operator, at=at, card=card_id) as t:
            member = t.member
            coupon_id = f"{t.tx_id}:c"
            until = (t.local.date() + timedelta(days=coupon.valid_days - 1)).isoformat()
            t.effect("coupon.add", coupon_id=coupon_id, member_id=member["member_id"], code=code, valid_until=until)
            t.record["data"] = {"code": code}
        return {"tx_id": t.tx_id, "coupon_id": coupon_id, "code": code, "valid_until": until}
