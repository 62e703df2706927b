"""What a benefit gives, as effects: the one definition the kiosk's operations and head office's
runs both use, so the same member gets the same thing wherever it is paid out.

Builders read the current projections and return effects without applying them; the caller
applies them (the kiosk inside its transaction, head office through ``Ingest.originate``).
"""
from __future__ import annotations

from datetime import date, timedelta

from . import keyed
from .dates import add_months, lot_expiry
from .rules import Rules

BIRTHDAY = "birthday"


def apply_all(t, effects: list[dict]) -> None:
    """Add built effects to a kiosk transaction (``TxBuilder``)."""
    for effect in effects:
        fields = dict(effect)
        t.effect(fields.pop("op"), **fields)


def earn_effects(conn, rules: Rules, member_id: str, points: int, lot_id: str, day: date) -> list[dict]:
    """Earned points repay any debt first; the rest becomes a lot expiring by the rules."""
    if points <= 0:
        return []
    (debt,) = conn.execute(keyed.POINTS_DEBT, (member_id,)).fetchone()
    repay = min(debt, points)
    effects = [{"op": "debt", "member_id": member_id, "delta": -repay}] if repay else []
    if points > repay:
        expires = lot_expiry(rules.expiry, day)
        effects.append({"op": "lot.add", "lot_id": lot_id, "member_id": member_id, "points": points - repay,
                        "expires_on": expires.isoformat() if expires else None})
    return effects


def coupon_effect(rules: Rules, code: str, coupon_id: str, member_id: str, day: date) -> dict:
    until = day + timedelta(days=rules.coupon(code).valid_days - 1)
    return {"op": "coupon.add", "coupon_id": coupon_id, "member_id": member_id, "code": code,
            "valid_until": until.isoformat()}


def package_effect(rules: Rules, code: str, package_id: str, member_id: str, day: date) -> dict:
    plan = rules.package(code)
    return {"op": "package.add", "package_id": package_id, "member_id": member_id, "code": plan.code,
            "name": plan.name, "uses": plan.uses, "expires_on": (day + timedelta(days=plan.valid_days - 1)).isoformat()}


# -- top-up bonus parts ------------------------------------------------------------------------
def part_share(total: int, parts: int, k: int) -> int:
    """Part k (from 0) of ``total`` split in near-equal whole shares, the earlier parts taking the odd ones."""
    return total // parts + (k < total % parts)


def bonus_parts(step, member_id: str, day: date) -> list[dict]:
    """A step's bonus split into monthly parts: stored value and points in near-equal shares (the
    earlier parts take the odd fen/points), the coupon and the package with the first part (paid
    with the top-up, under the rules that define them). Part k is due from the first day of the
    k-1-th month after the top-up."""
    n = step.instalments
    parts = []
    for k in range(n):
        parts.append({"part": k + 1, "member_id": member_id,
                      "due_on": (add_months(day.replace(day=1), k) if k else day).isoformat(),
                      "bonus_fen": part_share(step.bonus_fen, n, k), "points": part_share(step.points, n, k),
                      "coupon": step.coupon if k == 0 else "", "package": step.package if k == 0 else ""})
    return parts


def part_key(paid_tx: str, topup_tx: str, part: int) -> str:
    """Ids of what paying a part gives (``%s``: i lot, c coupon, k package): they name the paying
    transaction, the part and the top-up, so undoing the top-up finds them wherever the part was paid,
    and a part paid twice (kiosk and head office) never collides."""
    return f"{paid_tx}:%s{part}.{topup_tx}"


def payout_effects(conn, rules: Rules, part: dict, paid_tx: str, day: date) -> list[dict]:
    """What paying one part gives: bonus stored value, a points lot, a coupon, a package."""
    member_id, key, effects = part["member_id"], part_key(paid_tx, part["topup_tx"], part["part"]), []
    if part["bonus_fen"]:
        effects.append({"op": "sv", "member_id": member_id, "principal": 0, "bonus": part["bonus_fen"]})
    effects += earn_effects(conn, rules, member_id, part["points"], key % "i", day)
    if part["coupon"]:
        effects.append(coupon_effect(rules, part["coupon"], key % "c", member_id, day))
    if part["package"]:
        effects.append(package_effect(rules, part["package"], key % "k", member_id, day))
    return effects


PART_COLUMNS = ("topup_tx", "part", "member_id", "due_on", "bonus_fen", "points", "coupon", "package")


def due_parts(conn, day: date, member_id: str | None = None) -> list[dict]:
    """Unpaid instalments due by ``day`` (one member's, or everyone's for head office's run)."""
    one = " AND member_id = ?" if member_id else ""     # no "? IS NULL": PostgreSQL cannot type it
    rows = conn.execute(f"SELECT {', '.join(PART_COLUMNS)} FROM instalments WHERE status = 'due' AND due_on <= ?"
                        f"{one} ORDER BY member_id, due_on, topup_tx, part",
                        (day.isoformat(), *([member_id] if member_id else []))).fetchall()
    return [dict(zip(PART_COLUMNS, row)) for row in rows]


def pay_part_effects(conn, rules: Rules, part: dict, paid_tx: str, day: date) -> list[dict]:
    return [{"op": "instalment.pay", "topup_tx": part["topup_tx"], "part": part["part"]},
            *payout_effects(conn, rules, part, paid_tx, day)]


# -- birthday benefit ----------------------------------------------------------------------------
def birthday_due(conn, rules: Rules, member: dict, day: date) -> str:
    """The coupon code the member's tier gives this birthday month, if not yet given this year."""
    code = rules.tier(member["tier"]).birthday_coupon
    birthday = member.get("birthday")
    if not code or member["status"] != "active" or not birthday or int(birthday[5:7]) != day.month:
        return ""
    given = conn.execute("SELECT 1 FROM benefits WHERE member_id = ? AND kind = ? AND period = ?",
                         (member["member_id"], BIRTHDAY, str(day.year))).fetchone()
    return "" if given else code


def birthday_effects(conn, rules: Rules, member: dict, tx_id: str, day: date) -> list[dict]:
    code = birthday_due(conn, rules, member, day)
    if not code:
        return []
    return [{"op": "benefit", "member_id": member["member_id"], "kind": BIRTHDAY, "period": str(day.year)},
            coupon_effect(rules, code, f"{tx_id}:b", member["member_id"], day)]
