"""The second round of rules keys (docs/rules.md): spend bands, points into stored value, points
transfer, richer top-up bonuses and tier benefits. Read with the same key-naming reader as the
rest of the rules (:class:`kiosk.ledger.rules._Reader`), checked after the whole file is read.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .errors import RulesError


@dataclass(frozen=True)
class Band:
    """From this much paid in one purchase (fen), each further yuan earns ``per_yuan``."""
    from_fen: int
    per_yuan: Fraction


@dataclass(frozen=True)
class Conversion:
    """Points into bonus stored value: ``points_per_yuan`` points make one yuan."""
    points_per_yuan: int
    daily_cap: int           # points per member per calendar day


@dataclass(frozen=True)
class Transfer:
    daily_cap: int           # points a member may give away per calendar day


@dataclass(frozen=True)
class BonusStep:
    """A top-up of at least ``from_fen`` gets this bonus, paid in ``instalments`` monthly parts."""
    from_fen: int
    bonus_fen: int
    points: int = 0
    coupon: str = ""
    package: str = ""
    instalments: int = 1


def optional_str(r, key: str) -> str:
    """A string key that may be left out ("" then), but not given empty."""
    if key not in r.table:
        r.used.add(key)
        return ""
    return r.str(key)


def read_bands(points) -> tuple[Band, ...]:
    bands = []
    for b in points.items("bands"):
        bands.append(Band(from_fen=b.fen("from"), per_yuan=b.fraction("per_yuan")))
        b.done()
    if any(b.from_fen <= 0 for b in bands) or any(a.from_fen >= b.from_fen for a, b in zip(bands, bands[1:])):
        raise RulesError("points.bands: each from must be more than 0 and they must rise")
    return tuple(bands)


def read_conversion(points) -> Conversion | None:
    if "to_stored_value" not in points.table:
        points.used.add("to_stored_value")
        return None
    r = points.sub("to_stored_value")
    conversion = Conversion(points_per_yuan=r.int("points_per_yuan", None, 1, 100_000),
                            daily_cap=r.int("daily_cap", None, 1, 10**8))
    r.done()
    return conversion


def read_transfer(points) -> Transfer | None:
    if "transfer" not in points.table:
        points.used.add("transfer")
        return None
    r = points.sub("transfer")
    transfer = Transfer(daily_cap=r.int("daily_cap", None, 1, 10**8))
    r.done()
    return transfer


def read_bonus_step(s) -> BonusStep:
    step = BonusStep(from_fen=s.fen("from"), bonus_fen=s.fen("bonus", "0"), points=s.int("points", 0, 0, 10**8),
                     coupon=optional_str(s, "coupon"), package=optional_str(s, "package"),
                     instalments=s.int("instalments", 1, 1, 36))
    s.done()
    if not (step.bonus_fen or step.points or step.coupon or step.package):
        raise RulesError(f"{s.path}: give at least one of bonus, points, coupon or package")
    return step


def check_references(rules, steps: list[BonusStep]) -> None:
    """Coupons and packages named by bonus steps (in file order) and tiers must exist in the same file."""
    for i, step in enumerate(steps):
        if step.coupon and rules.coupon(step.coupon) is None:
            raise RulesError(f"stored_value.bonus[{i}].coupon: {step.coupon!r} is not in [[coupons]]")
        if step.package and rules.package(step.package) is None:
            raise RulesError(f"stored_value.bonus[{i}].package: {step.package!r} is not in [[packages]]")
    for i, tier in enumerate(rules.tiers):
        if tier.birthday_coupon and rules.coupon(tier.birthday_coupon) is None:
            raise RulesError(f"tiers.levels[{i}].birthday_coupon: {tier.birthday_coupon!r} is not in [[coupons]]")
