"""Pure purchase arithmetic: what a basket costs and what it earns. No database here.

Order (docs/rules.md, "A purchase"): tier discount on the gross amount, then coupons on what
is left, then points as cash (capped as a share of what is left), then payment from stored
value or outside. Points are earned on the money actually paid: the payable amount less the
bonus part of stored value. Every discount is spread over the lines by largest remainder so
per-line figures always add up to the totals.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction

from .errors import InvalidInput, Refused
from .rules import Coupon, Multiplier, Rules, Tier


@dataclass(frozen=True)
class Line:
    amount_fen: int
    sku: str = ""
    category: str = ""


@dataclass(frozen=True)
class Quote:
    gross_fen: int
    tier_id: str
    tier_discount_fen: int
    coupon_discount_fen: int
    points_cash_points: int
    points_cash_fen: int
    payable_fen: int
    sv_principal_fen: int
    sv_bonus_fen: int
    external_fen: int
    earn_base_fen: int
    points_earned: int
    multipliers: tuple[str, ...] = field(default=())
    coupon_discounts: tuple[int, ...] = field(default=())

    def as_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def apportion(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder), parts summing exactly."""
    whole = sum(weights)
    if whole == 0:
        return [0] * len(weights)
    parts = [total * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def split_stored_value(amount: int, principal: int, bonus: int) -> tuple[int, int]:
    """Draw principal and bonus in proportion; the bonus share is rounded down.

    Rounding the bonus down spends at most one fen more principal than the exact share,
    and never more principal than there is (amount <= principal + bonus).
    """
    total = principal + bonus
    if amount > total:
        raise Refused(f"stored value {total / 100:.2f} is less than {amount / 100:.2f}", "insufficient_stored_value")
    bonus_used = amount * bonus // total if total else 0
    return amount - bonus_used, bonus_used


def _line_matches(line: Line, skus: frozenset[str], categories: frozenset[str]) -> bool:
    if not skus and not categories:
        return True
    return line.sku in skus or line.category in categories


def multiplier_applies(m: Multiplier, local: datetime, birthday: date | None) -> bool:
    """Whether a multiplier's time and member conditions hold (line conditions are separate)."""
    day = local.date()
    if m.weekdays and local.isoweekday() not in m.weekdays:
        return False
    if m.days_of_month and day.day not in m.days_of_month:
        return False
    if m.date_from and day < m.date_from or m.date_until and day > m.date_until:
        return False
    if m.time_from and not m.time_from <= local.time().replace(tzinfo=None) < m.time_until:
        return False
    if m.birthday_month and (birthday is None or birthday.month != local.month):
        return False
    return True


def line_multiplier(rules: Rules, active: list[Multiplier], line: Line) -> tuple[Fraction, tuple[str, ...]]:
    """The factor for one line: the highest applicable, or the product when rules stack."""
    applicable = [m for m in active if _line_matches(line, m.skus, m.categories)]
    if not applicable:
        return Fraction(1), ()
    if rules.stack_multipliers:
        return math.prod((m.factor for m in applicable), start=Fraction(1)), tuple(m.name for m in applicable)
    best = max(applicable, key=lambda m: m.factor)
    return (best.factor, (best.name,)) if best.factor > 1 else (Fraction(1), ())


def banded_yuan(rules: Rules, pool_bases: list[int]) -> list[Fraction]:
    """Each pool's fen at the rate of the spend band they fall in (bands step with the whole amount paid).

    Without bands this is simply fen x ``per_yuan`` / 100; with bands, the part of the purchase's total
    within each band is shared over the pools in proportion (largest remainder, so nothing is lost).
    """
    total = sum(pool_bases)
    edges = [(0, rules.points_per_yuan)] + [(b.from_fen, b.per_yuan) for b in rules.bands]
    rated = [Fraction(0)] * len(pool_bases)
    for (start, rate), (end, _) in zip(edges, edges[1:] + [(total, None)]):
        in_band = max(0, min(total, end) - start)
        for i, share in enumerate(apportion(in_band, pool_bases)):
            rated[i] += share * rate / 100
    return rated


def earn_points(rules: Rules, lines: list[Line], bases: list[int], local: datetime,
                birthday: date | None, tier_factor: Fraction = Fraction(1)) -> tuple[int, tuple[str, ...]]:
    """Points for the fen actually paid per line: yuan x (banded) rate, floored, then x multiplier.

    Lines sharing a multiplier are pooled first, so two 0.50 lines earn like one 1.00 line. The
    tier's earning multiplier multiplies whatever the campaigns give (highest or stacked).
    """
    active = [m for m in rules.multipliers if multiplier_applies(m, local, birthday)]
    pools: dict[Fraction, int] = {}
    names: list[str] = []
    for line, base in zip(lines, bases):
        factor, used = line_multiplier(rules, active, line)
        pools[factor] = pools.get(factor, 0) + base
        names.extend(n for n in used if n not in names)
    rated = banded_yuan(rules, list(pools.values()))
    points = sum(math.floor(math.floor(yuan) * factor * tier_factor) for factor, yuan in zip(pools, rated))
    return points, tuple(names)


def coupon_discount(coupon: Coupon, lines: list[Line], after_tier: list[int]) -> list[int]:
    """Per-line discount one coupon gives, or Refused saying why it does not apply."""
    eligible = [i for i, line in enumerate(lines) if _line_matches(line, coupon.skus, coupon.categories)]
    base = sum(after_tier[i] for i in eligible)
    if base == 0:
        raise Refused(f"coupon {coupon.code} does not apply to these items", "coupon_not_applicable")
    if base < coupon.min_spend_fen:
        raise Refused(f"coupon {coupon.code} needs a spend of at least {coupon.min_spend_fen / 100:.2f}",
                      "coupon_min_spend")
    if coupon.kind == "percent":
        off = base * coupon.percent.numerator // (100 * coupon.percent.denominator)
        off = min(off, coupon.cap_fen) if coupon.cap_fen else off
    elif coupon.kind == "threshold":
        if base < coupon.threshold_fen:
            raise Refused(f"coupon {coupon.code} needs a spend of at least {coupon.threshold_fen / 100:.2f}",
                          "coupon_min_spend")
        off = coupon.off_fen
    else:
        off = min(coupon.value_fen, base)
    shares = apportion(off, [after_tier[i] for i in eligible])
    out = [0] * len(lines)
    for i, share in zip(eligible, shares):
        out[i] = share
    return out


def quote_purchase(rules: Rules, *, lines: list[Line], tier: Tier, coupons: list[Coupon], points_cash: int,
                   available_points: int, pay: str, principal: int, bonus: int, local: datetime,
                   birthday: date | None) -> Quote:
    """Everything a purchase will do, computed before anything is written."""
    if not lines or any(line.amount_fen <= 0 for line in lines):
        raise InvalidInput("a purchase needs a positive amount")
    if pay not in ("external", "stored-value"):
        raise InvalidInput(f"payment {pay!r} is not 'external' or 'stored-value'")
    if len(coupons) > rules.coupons_per_purchase:
        raise Refused(f"at most {rules.coupons_per_purchase} coupon(s) per purchase", "too_many_coupons")
    gross = [line.amount_fen for line in lines]
    tier_off = sum(gross) * tier.discount_percent.numerator // (100 * tier.discount_percent.denominator)
    paid = [g - d for g, d in zip(gross, apportion(tier_off, gross))]

    coupon_offs = []
    for coupon in coupons:
        offs = coupon_discount(coupon, lines, paid)
        paid = [p - o for p, o in zip(paid, offs)]
        coupon_offs.append(sum(offs))

    before_points = sum(paid)
    cash_fen = 0
    if points_cash:
        if points_cash * 100 % rules.cash_points_per_yuan:
            raise InvalidInput(f"points as cash must be a multiple of {rules.cash_points_per_yuan // math.gcd(100, rules.cash_points_per_yuan)}")
        cash_fen = points_cash * 100 // rules.cash_points_per_yuan
        cap = before_points * rules.cash_max_share_percent // 100
        if cash_fen > cap:
            raise Refused(f"points can pay at most {cap / 100:.2f} of this purchase "
                          f"({cap * rules.cash_points_per_yuan // 100} points)", "points_cash_cap")
        if points_cash > available_points:
            raise Refused(f"only {available_points} points available", "insufficient_points")
        paid = [p - c for p, c in zip(paid, apportion(cash_fen, paid))]

    payable = sum(paid)
    sv_principal = sv_bonus = 0
    if pay == "stored-value":
        sv_principal, sv_bonus = split_stored_value(payable, principal, bonus)
    bases = [p - b for p, b in zip(paid, apportion(sv_bonus, paid))]
    points, names = earn_points(rules, lines, bases, local, birthday, tier.earn_multiplier)
    return Quote(gross_fen=sum(gross), tier_id=tier.id, tier_discount_fen=tier_off,
                 coupon_discount_fen=sum(coupon_offs), points_cash_points=points_cash, points_cash_fen=cash_fen,
                 payable_fen=payable, sv_principal_fen=sv_principal, sv_bonus_fen=sv_bonus,
                 external_fen=payable if pay == "external" else 0, earn_base_fen=sum(bases),
                 points_earned=points, multipliers=names, coupon_discounts=tuple(coupon_offs))
