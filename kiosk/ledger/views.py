"""Read-side: what a member, a cashier or a report sees. Nothing here writes."""
from __future__ import annotations

import json
from datetime import date, timedelta

from . import keyed
from .dates import to_utc_text
from .daysum import day_summary
from .holdings import valid_coupon
from .journal import summarise
from .phones import mask_phone
from .head_office import HeadOfficeService
from .points import PointsService
from .service import Service
from .verify import verify


def mask_name(name: str) -> str:
    """张三丰 -> 张**, Alice -> A****: the first character only; no name stays empty."""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


class ViewService(Service):
    """What a member, a cashier or a report sees."""

    def __init__(self, core, points: PointsService, head_office: HeadOfficeService):
        super().__init__(core)
        self.points, self.head_office = points, head_office


    def member_view(self, card_id: str, *, at: str | None = None, history: int = 10,
                    require_active: bool = False) -> dict:
        """Everything the member home screen and `kioskctl show` need, in one read."""
        member = self.member_for_card(card_id, active=require_active)
        member_id = member["member_id"]
        local = self.local_moment(at)
        day = local.date()
        points = self.points.available_points(member_id, day.isoformat())
        soon = self.conn.execute(
            "SELECT COALESCE(SUM(remaining), 0), MIN(expires_on) FROM lots WHERE member_id = ? AND remaining > 0"
            " AND expires_on >= ? AND expires_on <= ?",
            (member_id, day.isoformat(), (day + timedelta(days=30)).isoformat())).fetchone()
        qualifying = self.points.qualifying_total(member_id, local)
        tier = self.rules.tier(member["tier"])
        higher = [t for t in self.rules.tiers if self.points.tier_rank(t.id) > self.points.tier_rank(tier.id)]
        nxt = higher[0] if higher else None
        coupons = [{"coupon_id": c, "code": code, "valid_until": until,
                    "name": (self.rules.coupon(code).name if self.rules.coupon(code) else code)}
                   for c, code, until in self.conn.execute(
                       f"SELECT coupon_id, code, valid_until FROM coupons WHERE member_id = ? AND {valid_coupon()}"
                       " ORDER BY valid_until", (member_id, day.isoformat()))]
        english = {plan.code: plan.name_en for plan in self.rules.packages}
        packages = [{"package_id": p, "code": code, "name": name, "name_en": english.get(code) or name,
                     "remaining": rem, "uses": uses, "expires_on": exp}
                    for p, code, name, rem, uses, exp in self.conn.execute(
                        "SELECT package_id, code, name, remaining, uses, expires_on FROM packages WHERE member_id = ?"
                        " AND remaining > 0 AND status = 'active' AND expires_on >= ? ORDER BY expires_on",
                        (member_id, day.isoformat()))]
        birthday = date.fromisoformat(member["birthday"]) if member["birthday"] else None
        return {
            "member_id": member_id, "card_id": card_id, "card_status": member["card_status"],
            "status": member["status"], "erased": member["erased"],
            "unreadable": member["unreadable"], "name": member["name"], "name_masked": mask_name(member["name"]),
            "phone_masked": mask_phone(member["phone"]), "birthday": member["birthday"],
            "birthday_month": bool(birthday and birthday.month == day.month),
            "tier": tier.id, "tier_name": tier.name, "tier_name_zh": tier.name_zh,
            "tier_discount_percent": str(tier.discount_percent), "tier_spend_based": self.rules.spend_based,
            "qualifying": qualifying, "next_tier": nxt.id if nxt else None,
            "next_tier_missing": max(0, nxt.threshold - qualifying) if nxt else 0,
            "points": points - member["points_debt"], "points_debt": member["points_debt"],
            "points_expiring": soon[0], "points_expiring_on": soon[1],
            "principal_fen": member["principal_fen"], "bonus_fen": member["bonus_fen"],
            "coupons": coupons, "packages": packages,
            "checked_in_today": bool(self.conn.execute(keyed.CHECKED_IN, (member_id, day.isoformat())).fetchone()),
            "history": self.history(member_id, history),
            "shown_balance": self.head_office.shown_balance(member_id),
        }

    def check(self) -> dict:
        """The whole file checked (``kioskctl verify``): SQLite's integrity, the projections against a
        replay of the journal, the hash chains. ``problems`` is empty when all is consistent."""
        (integrity,) = self.conn.execute("PRAGMA integrity_check").fetchone()
        problems = verify(self.conn) + ([] if integrity == "ok" else [f"integrity_check: {integrity}"])
        (count,) = self.conn.execute("SELECT COUNT(*) FROM journal").fetchone()
        return {"problems": problems, "integrity": integrity, "transactions": count}

    def history(self, member_id: str, limit: int = 10) -> list[dict]:
        rows = self.conn.execute(
            "SELECT tx_id, kind, at, operator, record FROM journal WHERE tx_id IN"
            " (SELECT tx_id FROM journal WHERE member_id = ? UNION ALL SELECT tx_id FROM journal_others"
            "  WHERE member_id = ?) ORDER BY at DESC, seq DESC LIMIT ?", (member_id, member_id, limit)).fetchall()
        return [{"tx_id": tx, "kind": kind, "at": at, "operator": op, "summary": summarise(json.loads(rec), member_id)}
                for tx, kind, at, op, rec in rows]

    def journal(self, *, member_id: str | None = None, since_seq: int = 0, limit: int = 1000) -> list[dict]:
        rows = self.conn.execute(
            "SELECT record FROM journal WHERE kiosk_id = ? AND seq > ? AND (? IS NULL OR member_id = ?)"
            " ORDER BY seq LIMIT ?", (self.kiosk_id, since_seq, member_id, member_id, limit)).fetchall()
        return [json.loads(r) for (r,) in rows]

    def gifts(self) -> list[dict]:
        stock = dict(self.conn.execute("SELECT sku, stock FROM stock WHERE store_id = ?", (self.store_id,)))
        return [{"sku": g.sku, "name": g.name, "name_zh": g.name_zh, "points": g.points, "stock": stock.get(g.sku, 0),
                 "picture": g.picture} for g in self.rules.gifts]

    def day_records(self, *, at: str | None = None) -> list[dict]:
        """This kiosk's journal records of the local day, oldest first (the counter's shift figures)."""
        start = self.local_moment(at).replace(hour=0, minute=0, second=0, microsecond=0)
        return [json.loads(rec) for (rec,) in self.conn.execute(
            "SELECT record FROM journal WHERE kiosk_id = ? AND at >= ? AND at < ? ORDER BY seq",
            (self.kiosk_id, to_utc_text(start), to_utc_text(start + timedelta(days=1))))]

    def staff_names(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT staff_id, name FROM staff"))

    def day_summary(self, *, at: str | None = None) -> dict:
        """This kiosk's figures for the local day of ``at``: every movement of money and points."""
        local = self.local_moment(at)
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        lo, hi = to_utc_text(start), to_utc_text(start + timedelta(days=1))
        records = [json.loads(rec) for (rec,) in self.conn.execute(
            "SELECT record FROM journal WHERE kiosk_id = ? AND at >= ? AND at < ? ORDER BY seq", (self.kiosk_id, lo, hi))]
        return day_summary(local.date().isoformat(), records)
