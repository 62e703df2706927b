"""A purchase in one transaction (tier discount, coupons, points as cash, stored value, earning,
referral, tier upgrade) and its refund (money back the way it came, points taken back)."""
from __future__ import annotations

from datetime import date

from . import guard, keyed
from .core import TxBuilder, states_inputs
from .dates import to_utc_text
from .errors import InvalidInput, NotFound, Refused
from .guard import Spends
from .pricing import Line, Quote, quote_purchase
from .points import PointsService
from .service import Service


def _spends(quote: Quote, used: list, printed: list[tuple[str, int]]) -> Spends:
    """What a purchase takes from the member: points as cash, stored value, coupons."""
    return Spends(points=quote.points_cash_points, stored_value_fen=quote.sv_principal_fen + quote.sv_bonus_fen,
                  coupons=tuple(coupon.code for _, coupon in used),
                  printed_coupons=tuple(f"{campaign}:{serial}" for campaign, serial in printed),
                  coupon_fen=quote.coupon_discount_fen)


def _share(total: int, part: int, whole: int) -> int:
    return total * part // whole if whole else 0


class PurchaseService(Service):
    def __init__(self, core, points: PointsService):
        super().__init__(core)
        self.points = points


    def _member_coupons(self, member_id: str, codes: list[str], local) -> list[tuple[str, object]]:
        """The member's unused coupons for ``codes``: issued by ``local`` and still valid that day."""
        day, instant = local.date().isoformat(), to_utc_text(local)
        found = []
        for code in codes:
            coupon = self.rules.coupon(code)
            if coupon is None:
                raise NotFound(f"coupon {code} is not defined in the rules", "unknown_coupon")
            taken = [cid for cid, _ in found]
            row = self.conn.execute(
                keyed.COUPONS_OF_CODE, (member_id, code, day, instant)).fetchall()
            free = [cid for (cid,) in row if cid not in taken]
            if not free:
                raise Refused(f"the member has no valid {code} coupon", "no_coupon")
            found.append((free[0], coupon))
        return found

    def _printed_coupons(self, printed: list[tuple[str, int]]) -> list:
        """Printed coupons (campaign, serial): anyone may use one, once chain-wide."""
        found = []
        for campaign, serial in printed:
            coupon = self.rules.coupon(campaign)
            if coupon is None:
                raise NotFound(f"coupon campaign {campaign} is not defined in the rules", "unknown_coupon")
            if (campaign, serial) in printed[:len(found)] or self.conn.execute(
                    "SELECT 1 FROM coupon_claims WHERE campaign = ? AND serial = ?", (campaign, serial)).fetchone():
                raise Refused(f"printed coupon {campaign} #{serial} was already used", "coupon_used")
            found.append(coupon)
        return found

    def _quote(self, member: dict, lines: list[Line], coupon_codes: list[str], printed: list[tuple[str, int]],
               points_cash: int, pay: str, local) -> tuple[Quote, list]:
        """The quote, and the member's coupons it uses (coupon id, coupon); printed ones come after them."""
        day = local.date().isoformat()
        coupons = self._member_coupons(member["member_id"], coupon_codes, local)
        birthday = date.fromisoformat(member["birthday"]) if member["birthday"] else None
        quote = quote_purchase(
            self.rules, lines=lines, tier=self.rules.tier(member["tier"]),
            coupons=[c for _, c in coupons] + self._printed_coupons(printed),
            points_cash=points_cash, available_points=self.points.available_points(member["member_id"], day) if points_cash else 0,
            pay=pay, principal=member["principal_fen"], bonus=member["bonus_fen"], local=local, birthday=birthday)
        return quote, coupons

    def preview_purchase(self, card_id: str, lines: list[Line], *, coupons: list[str] = (),
                         printed_coupons: list[tuple[str, int]] = (), points_cash: int = 0,
                         pay: str = "external", at: str | None = None) -> Quote:
        """What a purchase would cost and earn, without writing anything (for the confirm screen)."""
        member = self.member_for_card(card_id)
        return self._quote(member, lines, list(coupons), list(printed_coupons), points_cash, pay,
                           self.local_moment(at))[0]

    @states_inputs
    def purchase(self, card_id: str, lines: list[Line], *, coupons: list[str] = (),
                 printed_coupons: list[tuple[str, int]] = (), points_cash: int = 0,
                 pay: str = "external", operator: str, at: str | None = None) -> dict:
        """``coupons`` are codes of coupons the member holds; ``printed_coupons`` are (campaign,
        serial) of verified printed coupons, recorded as used in the same commit."""
        printed = list(printed_coupons)
        approval = guard.NOTHING_SPENT
        if points_cash or coupons or printed or pay != "external":     # else nothing to ask about
            member = self.member_for_card(card_id)
            quote, used = self._quote(member, lines, list(coupons), printed, points_cash, pay, self.local_moment(at))
            approval = guard.ask(self.core, member, card_id, _spends(quote, used, printed), operator=operator,
                                 kind="purchase")
        with self.transaction("purchase", operator=operator, at=at, card=card_id) as t:
            member, member_id = t.member, t.member["member_id"]
            quote, used = self._quote(member, lines, list(coupons), printed, points_cash, pay, t.local)
            guard.charge(self.core, t, approval, _spends(quote, used, printed))
            for coupon_id, _ in used:
                t.effect("coupon.use", coupon_id=coupon_id)
            for (campaign, serial), fen in zip(printed, quote.coupon_discounts[len(used):]):
                t.effect("coupon.claim", campaign=campaign, serial=serial, member_id=member_id, fen=fen)
            if quote.points_cash_points:
                self.points.draw(t, member_id, quote.points_cash_points, "cash")
            if quote.sv_principal_fen or quote.sv_bonus_fen:
                t.effect("sv", member_id=member_id, principal=-quote.sv_principal_fen, bonus=-quote.sv_bonus_fen)
            qualifying = quote.payable_fen if self.rules.spend_based else quote.points_earned
            if qualifying:
                t.effect("qualify", member_id=member_id, amount=qualifying)
            lot_id = self.points.earn(t, member_id, quote.points_earned)
            t.effect("purchase", member_id=member_id, payable_fen=quote.payable_fen,
                     sv_principal_fen=quote.sv_principal_fen, sv_bonus_fen=quote.sv_bonus_fen,
                     points_earned=quote.points_earned, points_cash=quote.points_cash_points, lot_id=lot_id)
            referral = self._first_purchase(t, member)
            self.points.upgrade_if_qualified(t, member_id, member["tier"])
            quoted = quote.as_dict()
            t.record["data"].update({**quoted, "pay": pay, "coupons": [c for c, _ in used],
                                "printed_coupons": [f"{campaign}:{serial}" for campaign, serial in printed],
                                "lines": [line.__dict__ for line in lines], "rules": self.rules.digest,
                                "referral_points": referral})
        tier = next((e["tier"] for e in t.record["effects"] if e["op"] == "tier"), member["tier"])
        return {"tx_id": t.tx_id, **quoted, "tier": tier, "referral_points": referral}

    @states_inputs
    def purchase_deferred(self, card_id: str, member_id: str, token: str, lines: list[Line], *, operator: str,
                          at: str | None = None) -> dict:
        """A purchase by a member this kiosk does not hold (another store's, never looked up here), shown
        present by their card's version-2 token (``token``: its payload, hex; verified by the card reader
        and again by head office). The kiosk cannot price it with the member's tier, birthday or coupons, so
        it journals the sale with no effects at all: nothing spent (the member pays in cash or otherwise),
        nothing earned here. Head office checks the token, prices the purchase with the member's own state
        and credits the points (docs/sync.md, "Deferred earning")."""
        if not lines or any(line.amount_fen <= 0 for line in lines):
            raise InvalidInput("a purchase needs a positive amount")
        if not (isinstance(token, str) and token and isinstance(member_id, str) and member_id):
            raise InvalidInput("a deferred purchase needs the member id and token the card carries")
        if self.conn.execute("SELECT 1 FROM cards WHERE card_id = ?", (card_id,)).fetchone():
            raise Refused(f"card {card_id} is known here: record an ordinary purchase", "card_known")
        if self.conn.execute("SELECT 1 FROM blocklist WHERE card_id = ?", (card_id,)).fetchone():
            raise Refused(f"card {card_id} is held by head office", "card_blocked")
        amount = sum(line.amount_fen for line in lines)
        with self.transaction("purchase_deferred", operator=operator, at=at, member_id=member_id,
                              data={"amount_fen": amount, "card_id": card_id}, record_only=True) as t:
            pass
        return {"tx_id": t.tx_id, "amount_fen": amount}

    def _first_purchase(self, t: TxBuilder, member: dict) -> int:
        """Mark the first purchase; reward both member and referrer when there is one."""
        if member["first_purchase_tx"]:
            return 0
        t.effect("member.set", member_id=member["member_id"], fields={"first_purchase_tx": t.tx_id})
        points = self.rules.referral_points
        referrer = member["referrer_id"]
        if not referrer or not points or self.conn.execute(
                "SELECT status FROM members WHERE member_id = ?", (referrer,)).fetchone() != ("active",):
            return 0
        self.points.earn(t, member["member_id"], points, "r")
        self.points.earn(t, referrer, points, "rr")
        return points

    def _refund_split(self, purchase_tx: str, amount_fen: int) -> tuple[tuple, dict]:
        """The purchase's row and what refunding ``amount_fen`` of it gives back: money the way it
        was paid, points taken back in proportion (floor, capped at what the purchase earned)."""
        if amount_fen <= 0:
            raise InvalidInput("a refund must be more than 0")
        row = self.conn.execute(
            "SELECT member_id, payable_fen, sv_principal_fen, sv_bonus_fen, points_earned, points_cash, lot_id,"
            " refunded_fen, points_clawed, points_cash_returned FROM purchases WHERE tx_id = ?",
            (purchase_tx,)).fetchone()
        if row is None:
            raise NotFound(f"{purchase_tx} is not a purchase", "unknown_tx")
        (_member, payable, sv_p, sv_b, earned, cash_points, _lot, refunded, clawed, cash_back) = row
        if amount_fen > payable - refunded:
            raise Refused(f"at most {(payable - refunded) / 100:.2f} is left to refund", "refund_too_large")
        after = refunded + amount_fen
        bonus_back = _share(sv_b, after, payable) - _share(sv_b, refunded, payable)
        principal_back = (amount_fen - bonus_back) if sv_p + sv_b else 0
        return row, {"amount_fen": amount_fen, "sv_principal_fen": principal_back, "sv_bonus_fen": bonus_back,
                     "external_fen": amount_fen - principal_back - bonus_back,
                     "points_taken": min(_share(earned, after, payable) - clawed, earned - clawed),
                     "points_cash_returned": _share(cash_points, after, payable) - cash_back}

    def preview_refund(self, purchase_tx: str, amount_fen: int) -> dict:
        """What :meth:`refund` would give back, without writing: shown before the button."""
        return self._refund_split(purchase_tx, amount_fen)[1]

    @states_inputs
    def refund(self, purchase_tx: str, amount_fen: int, *, operator: str, reason: str = "refund",
               at: str | None = None) -> dict:
        """Refund part or all of a purchase (:meth:`_refund_split`), a points shortfall becoming a debt."""
        with self.transaction("refund", operator=operator, at=at, ref_tx=purchase_tx, reason=reason or "refund") as t:
            row, split = self._refund_split(purchase_tx, amount_fen)
            member_id, lot_id = row[0], row[6]
            t.record["member_id"] = member_id
            principal_back, bonus_back = split["sv_principal_fen"], split["sv_bonus_fen"]
            points_back, cash_points_back = split["points_taken"], split["points_cash_returned"]
            if principal_back or bonus_back:
                t.effect("sv", member_id=member_id, principal=principal_back, bonus=bonus_back)
            if points_back:
                self.points.draw(t, member_id, points_back, "refund", first_lot=lot_id, into_debt=True)
            if cash_points_back:
                self.points.earn(t, member_id, cash_points_back, "pc")
            qualifying = amount_fen if self.rules.spend_based else points_back
            if qualifying:  # dated like the purchase, so both leave the rolling window together
                t.effect("qualify", member_id=member_id, amount=-qualifying,
                         at=self.tx_record(purchase_tx)["at"])
            t.effect("purchase.refund", purchase_tx=purchase_tx, fen=amount_fen, points=points_back,
                     points_cash=cash_points_back)
            t.record["data"] = split
        return {"tx_id": t.tx_id, **t.record["data"]}


def lines_from_amount(amount_fen: int, items: list[tuple[str, str, int]] | None = None) -> list[Line]:
    """One anonymous line for a plain amount, or the given (sku, category, fen) lines."""
    if items:
        lines = [Line(amount_fen=fen, sku=sku, category=cat) for sku, cat, fen in items]
        if amount_fen and sum(l.amount_fen for l in lines) != amount_fen:
            raise InvalidInput("the items do not add up to the amount")
        return lines
    return [Line(amount_fen=amount_fen)]

