"""Head office's bounds on the kinds of record it cannot re-derive (a manager's points adjustment, an
expiry run, a tier change, a stock count, a registration): what each may touch, and
how much per operator role. Configurable (``kiosk-hq run --policy FILE``, TOML, docs/head-office.md);
a record outside its bounds is rejected and alerted like a forged one."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field

ROLES = ("cashier", "manager", "admin", "unknown")   # unknown: staff head office has not heard of


@dataclass(frozen=True)
class Policy:
    adjust_points: dict[str, int] = field(default_factory=lambda: {
        "cashier": 0, "manager": 10_000, "admin": 100_000, "unknown": 10_000})
    stock_units: dict[str, int] = field(default_factory=lambda: {
        "cashier": 0, "manager": 1_000, "admin": 100_000, "unknown": 1_000})

    def limit(self, what: str, role: str) -> int:
        return getattr(self, what).get(role, 0)


def load_policy(text: str) -> Policy:
    """A policy from TOML (``[adjust_points] manager = 5000``); unknown keys and bad values are refused."""
    data = tomllib.loads(text)
    default = Policy()
    values = {}
    for section, table in data.items():
        if section not in ("adjust_points", "stock_units") or not isinstance(table, dict):
            raise ValueError(f"policy: unknown section {section!r} (adjust_points, stock_units)")
        for role, limit in table.items():
            if role not in ROLES or not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
                raise ValueError(f"policy: {section}.{role} must be a role of {ROLES} with a whole number >= 0")
        values[section] = {**getattr(default, section), **table}
    return Policy(**values)


def role_of(conn, operator: str) -> str:
    if operator in ("admin", "self"):
        return "admin" if operator == "admin" else "self"
    row = conn.execute("SELECT role FROM staff WHERE staff_id = ?", (operator,)).fetchone()
    return row[0] if row and row[0] in ROLES else "unknown"


# What each kind may touch: the account types of its effects (economics.py); all must be the record's member's.
ALLOWED = {
    "adjust": {"points+", "points-", "expiring"},
    "expire": {"points-", "package-"},
    "tier": {"tier"},
    "stock": {"stock", "stock.set"},
    "register": {"member.add", "card.add"},
    "profile": {"member.set"},
    "card_lost": {"card.set"},
    "card_replace": {"card.set", "card.add"},
    "erase": {"member.erase"},
}


def policy_problem(policy: Policy, kind: str, summary: dict, role: str, member_id: str | None,
                   store_id: str) -> str | None:
    """Why a record of a kind without derivable inputs is outside head office's bounds, or None."""
    allowed = ALLOWED.get(kind, set())          # staff records and anything else: no effects at all
    for account, amount in summary.items():
        if account[0] not in allowed:
            return f"a {kind} record may not change {account[0]}"
        owner = account[1]
        if account[0] in ("stock", "stock.set"):
            if owner != store_id:
                return f"a {kind} record may not change store {owner}'s stock"
            if abs(amount) > policy.limit("stock_units", role):
                return f"a {role} may change stock by at most {policy.limit('stock_units', role)} units"
        elif account[0] != "card.set" and owner != member_id:
            return f"a {kind} record may not touch member {owner}"
        if kind == "profile" and set(account[2:]) - {"name", "phone", "birthday"}:
            return f"a profile change may not set {sorted(set(account[2:]) - {'name', 'phone', 'birthday'})}"
    if kind == "adjust":
        points = max(summary.get(("points+", member_id), 0), summary.get(("points-", member_id), 0))
        if points > policy.limit("adjust_points", role):
            return f"a {role} may adjust at most {policy.limit('adjust_points', role)} points, not {points}"
    return None
