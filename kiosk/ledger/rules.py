"""The programme's rules, read from TOML into frozen dataclasses and validated.

The format is documented in docs/rules.md; examples/rules.toml is the reference rule set.
Every problem is a :class:`RulesError` naming the key, e.g. ``tiers.levels[2].threshold``.
Amounts are yuan strings ("1000.00"), factors are decimal strings ("1.5"), so nothing is a float.
"""
from __future__ import annotations

import functools
import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from fractions import Fraction
from typing import Any

from .errors import InvalidInput, RulesError
from .money import parse_fen
from .rules_extensions import (Band, BonusStep, Conversion, Transfer, check_references, read_bands,
                               optional_str, read_bonus_step, read_conversion, read_transfer)


@dataclass(frozen=True)
class Multiplier:
    name: str
    factor: Fraction
    weekdays: frozenset[int] = frozenset()      # ISO 1=Monday..7=Sunday
    days_of_month: frozenset[int] = frozenset()  # member days
    date_from: date | None = None                # campaign, inclusive
    date_until: date | None = None
    time_from: time | None = None                # time-of-day window [from, until)
    time_until: time | None = None
    birthday_month: bool = False
    skus: frozenset[str] = frozenset()           # restrict to these lines
    categories: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Expiry:
    kind: str = "never"      # months | end_of_month | end_of_year | never
    months: int = 0


@dataclass(frozen=True)
class Tier:
    id: str
    name: str
    name_zh: str
    threshold: int           # fen of qualifying spend (or points, when basis = "points")
    discount_percent: Fraction
    earn_multiplier: Fraction = Fraction(1)   # on top of campaign multipliers
    birthday_coupon: str = ""                 # coupon code issued once in the birthday month


@dataclass(frozen=True)
class Gift:
    sku: str
    name: str
    name_zh: str
    points: int
    stock: int
    picture: str = ""        # a file name in the kiosk's gift-pictures folder ("" : none)


@dataclass(frozen=True)
class Coupon:
    code: str
    kind: str                # percent | threshold | voucher
    name: str
    percent: Fraction = Fraction(0)
    cap_fen: int = 0         # percent: most it takes off (0: no cap)
    threshold_fen: int = 0   # threshold: spend at least this...
    off_fen: int = 0         # ...to get this off
    value_fen: int = 0       # voucher
    min_spend_fen: int = 0
    valid_days: int = 30     # from issue
    skus: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PackagePlan:
    code: str
    name: str                # as sold and kept with the member's package (Chinese in the demo)
    uses: int
    price_fen: int
    valid_days: int
    name_en: str = ""        # the English UI's name ("": the name)


@dataclass(frozen=True)
class Rules:
    points_per_yuan: Fraction = Fraction(1)
    stack_multipliers: bool = False
    multipliers: tuple[Multiplier, ...] = ()
    expiry: Expiry = Expiry()
    checkin_points: int = 0
    referral_points: int = 0
    receipt_claim_days: int = 30
    cash_points_per_yuan: int = 100
    cash_max_share_percent: int = 0
    tier_basis: str = "spend"
    tier_window_months: int = 12
    tier_hold_months: int = 0
    tiers: tuple[Tier, ...] = ()
    bonus_steps: tuple[BonusStep, ...] = ()
    undo_window_minutes: int = 0
    stored_value_cap_fen: int = 0   # most principal a member may hold (0: no cap)
    gifts: tuple[Gift, ...] = ()
    coupons: tuple[Coupon, ...] = ()
    coupons_per_purchase: int = 1
    packages: tuple[PackagePlan, ...] = ()
    bands: tuple[Band, ...] = ()
    conversion: Conversion | None = None
    transfer: Transfer | None = None
    source: str = field(default="", compare=False, repr=False)

    @functools.cached_property
    def digest(self) -> str:
        """Short hash of the rules text, recorded on every purchase for audit."""
        return hashlib.sha256(self.source.encode()).hexdigest()[:16]

    def tier(self, tier_id: str) -> Tier:
        for tier in self.tiers:
            if tier.id == tier_id:
                return tier
        return self.tiers[0]

    def bonus_step(self, amount_fen: int) -> BonusStep | None:
        """The step of the highest threshold a top-up reaches (None below the lowest)."""
        steps = [s for s in self.bonus_steps if amount_fen >= s.from_fen]
        return steps[-1] if steps else None

    def gift(self, sku: str) -> Gift | None:
        return next((g for g in self.gifts if g.sku == sku), None)

    def coupon(self, code: str) -> Coupon | None:
        return next((c for c in self.coupons if c.code == code), None)

    def package(self, code: str) -> PackagePlan | None:
        return next((p for p in self.packages if p.code == code), None)


class _Reader:
    """Typed getters over one TOML table that name the bad key (Klipper style)."""

    def __init__(self, table: Any, path: str):
        if not isinstance(table, dict):
            raise RulesError(f"{path or 'rules'}: must be a table")
        self.table, self.path, self.used = table, path, set()

    def _key(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _raw(self, key: str, default: Any, kind: type | tuple) -> Any:
        self.used.add(key)
        if key not in self.table:
            if default is _REQUIRED:
                raise RulesError(f"{self._key(key)}: missing")
            return default
        value = self.table[key]
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise RulesError(f"{self._key(key)}: expected {getattr(kind, '__name__', kind)}, got {value!r}")
        return value

    def str(self, key: str, default: Any = None) -> str:
        value = self._raw(key, _REQUIRED if default is None else default, str)
        if not value:
            raise RulesError(f"{self._key(key)}: must not be empty")
        return value

    def int(self, key: str, default: Any = None, lo: int = 0, hi: int = 10**9) -> int:
        value = self._raw(key, _REQUIRED if default is None else default, int)
        if not lo <= value <= hi:
            raise RulesError(f"{self._key(key)}: {value} is outside {lo}..{hi}")
        return value

    def bool(self, key: str, default: bool = False) -> bool:
        return self._raw(key, default, bool)

    def fen(self, key: str, default: Any = None) -> int:
        raw = self._raw(key, _REQUIRED if default is None else default, str)
        try:
            return parse_fen(raw, allow_zero=True, what=self._key(key))
        except InvalidInput as exc:
            raise RulesError(str(exc)) from None

    def fraction(self, key: str, default: Any = None) -> Fraction:
        raw = self._raw(key, _REQUIRED if default is None else default, (str, int))
        if isinstance(raw, int) or re.fullmatch(r"[0-9]{1,6}(\.[0-9]{1,4})?", raw):
            return Fraction(raw)
        raise RulesError(f"{self._key(key)}: {raw!r} is not a decimal like \"1.5\"")

    def date(self, key: str) -> date | None:
        raw = self._raw(key, None, (str, date))
        if raw is None or isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise RulesError(f"{self._key(key)}: {raw!r} is not a date YYYY-MM-DD") from None

    def time(self, key: str) -> time | None:
        raw = self._raw(key, None, (str, time))
        if raw is None or isinstance(raw, time):
            return raw
        try:
            return time.fromisoformat(raw)
        except ValueError:
            raise RulesError(f"{self._key(key)}: {raw!r} is not a time HH:MM") from None

    def ints(self, key: str, lo: int, hi: int) -> frozenset[int]:
        values = self._raw(key, [], list)
        if not all(isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi for v in values):
            raise RulesError(f"{self._key(key)}: expected whole numbers {lo}..{hi}")
        return frozenset(values)

    def strs(self, key: str) -> frozenset[str]:
        values = self._raw(key, [], list)
        if not all(isinstance(v, str) and v for v in values):
            raise RulesError(f"{self._key(key)}: expected a list of strings")
        return frozenset(values)

    def sub(self, key: str) -> "_Reader":
        return _Reader(self._raw(key, {}, dict), self._key(key))

    def items(self, key: str) -> list["_Reader"]:
        values = self._raw(key, [], list)
        return [_Reader(v, f"{self._key(key)}[{i}]") for i, v in enumerate(values)]

    def done(self) -> None:
        unknown = set(self.table) - self.used
        if unknown:
            raise RulesError(f"{self._key(sorted(unknown)[0])}: unknown key")


_REQUIRED = object()


def _multiplier(r: _Reader) -> Multiplier:
    m = Multiplier(
        name=r.str("name"), factor=r.fraction("factor"), weekdays=r.ints("weekdays", 1, 7),
        days_of_month=r.ints("days_of_month", 1, 31), date_from=r.date("from"), date_until=r.date("until"),
        time_from=r.time("time_from"), time_until=r.time("time_until"),
        birthday_month=r.bool("birthday_month"), skus=r.strs("skus"), categories=r.strs("categories"))
    r.done()
    if m.factor <= 0:
        raise RulesError(f"{r.path}.factor: must be more than 0")
    if (m.time_from is None) != (m.time_until is None):
        raise RulesError(f"{r.path}: time_from and time_until go together")
    return m


_PICTURE = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}\.(png|jpg|jpeg)")


def _picture(r: _Reader) -> str:
    """A gift's picture: a plain file name (no folders, so a catalogue cannot point elsewhere)."""
    name = optional_str(r, "picture")
    if name and not _PICTURE.fullmatch(name):
        raise RulesError(f"{r._key('picture')}: {name!r} must be a file name ending .png, .jpg or .jpeg")
    return name


def _coupon(r: _Reader) -> Coupon:
    kind = r.str("kind")
    common = dict(code=r.str("code"), kind=kind, name=r.str("name", r.table.get("code", "coupon")),
                  min_spend_fen=r.fen("min_spend", "0"), valid_days=r.int("valid_days", 30, 1, 3650),
                  skus=r.strs("skus"), categories=r.strs("categories"))
    if kind == "percent":
        coupon = Coupon(percent=r.fraction("percent"), cap_fen=r.fen("cap", "0"), **common)
        if not 0 < coupon.percent < 100:
            raise RulesError(f"{r.path}.percent: must be between 0 and 100")
    elif kind == "threshold":
        coupon = Coupon(threshold_fen=r.fen("threshold"), off_fen=r.fen("off"), **common)
        if not 0 < coupon.off_fen <= coupon.threshold_fen:
            raise RulesError(f"{r.path}.off: must be more than 0 and at most the threshold")
    elif kind == "voucher":
        coupon = Coupon(value_fen=r.fen("value"), **common)
        if coupon.value_fen <= 0:
            raise RulesError(f"{r.path}.value: must be more than 0")
    else:
        raise RulesError(f"{r.path}.kind: {kind!r} is not percent, threshold or voucher")
    r.done()
    return coupon


def load_rules(text: str) -> Rules:
    """Parse and validate a rules TOML document."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(f"rules: not valid TOML: {exc}") from None
    top = _Reader(data, "")
    if top.int("version", 1, 1, 1) != 1:
        raise RulesError("version: only version 1 is known")

    points = top.sub("points")
    expiry_r = points.sub("expiry")
    expiry = Expiry(kind=expiry_r.str("kind", "never"), months=expiry_r.int("months", 0, 0, 1200))
    expiry_r.done()
    if expiry.kind not in ("months", "end_of_month", "end_of_year", "never"):
        raise RulesError(f"points.expiry.kind: {expiry.kind!r} is not months, end_of_month, end_of_year or never")
    cash = points.sub("cash")
    cash_per_yuan, cash_share = cash.int("points_per_yuan", 100, 1, 100_000), cash.int("max_share_percent", 0, 0, 100)
    cash.done()
    per_yuan, stack = points.fraction("per_yuan", "1"), points.bool("stack_multipliers")
    checkin, referral = points.int("checkin", 0, 0, 100_000), points.int("referral", 0, 0, 1_000_000)
    receipt_days = points.int("receipt_claim_days", 30, 0, 3650)
    multipliers = tuple(_multiplier(m) for m in points.items("multipliers"))
    bands, conversion, transfer = read_bands(points), read_conversion(points), read_transfer(points)
    points.done()

    tiers_r = top.sub("tiers")
    basis = tiers_r.str("basis", "spend")
    if basis not in ("spend", "points"):
        raise RulesError(f"tiers.basis: {basis!r} is not spend or points")
    window, hold = tiers_r.int("window_months", 12, 1, 120), tiers_r.int("downgrade_hold_months", 0, 0, 120)
    tiers = []
    for t in tiers_r.items("levels"):
        threshold = t.fen("threshold") if basis == "spend" else t.int("threshold")
        tiers.append(Tier(id=t.str("id"), name=t.str("name"), name_zh=t.str("name_zh", t.table.get("name", "-")),
                          threshold=threshold, discount_percent=t.fraction("discount_percent", "0"),
                          earn_multiplier=t.fraction("earn_multiplier", "1"),
                          birthday_coupon=optional_str(t, "birthday_coupon")))
        t.done()
    tiers_r.done()
    if not tiers:
        tiers = [Tier("member", "Member", "会员", 0, Fraction(0))]
    if tiers[0].threshold != 0 or any(a.threshold >= b.threshold for a, b in zip(tiers, tiers[1:])):
        raise RulesError("tiers.levels: the first threshold must be 0 and thresholds must rise")
    if any(not 0 <= t.discount_percent < 100 for t in tiers):
        raise RulesError("tiers.levels: discount_percent must be from 0 to below 100")
    if any(t.earn_multiplier <= 0 for t in tiers):
        raise RulesError("tiers.levels: earn_multiplier must be more than 0")

    sv = top.sub("stored_value")
    undo = sv.int("undo_window_minutes", 0, 0, 7 * 24 * 60)
    cap = sv.fen("cap", "0")
    steps = [read_bonus_step(s) for s in sv.items("bonus")]
    sv.done()

    gifts = []
    for g in top.items("gifts"):
        gifts.append(Gift(sku=g.str("sku"), name=g.str("name"), name_zh=g.str("name_zh", g.table.get("name", "-")),
                          points=g.int("points", None, 1, 10**8), stock=g.int("stock", 0, 0, 10**6),
                          picture=_picture(g)))
        g.done()
    coupons = tuple(_coupon(c) for c in top.items("coupons"))
    policy = top.sub("coupon_policy")
    per_purchase = policy.int("max_per_purchase", 1, 1, 10)
    policy.done()
    packages = []
    for p in top.items("packages"):
        packages.append(PackagePlan(code=p.str("code"), name=p.str("name"), uses=p.int("uses", None, 1, 1000),
                                    price_fen=p.fen("price"), valid_days=p.int("valid_days", 365, 1, 3650),
                                    name_en=optional_str(p, "name_en")))
        p.done()
    top.done()

    for what, keys in (("gifts", [g.sku for g in gifts]), ("coupons", [c.code for c in coupons]),
                       ("packages", [p.code for p in packages]), ("tiers.levels", [t.id for t in tiers])):
        if len(set(keys)) != len(keys):
            raise RulesError(f"{what}: duplicate code")
    rules = Rules(points_per_yuan=per_yuan, stack_multipliers=stack, multipliers=multipliers, expiry=expiry,
                 checkin_points=checkin, referral_points=referral, receipt_claim_days=receipt_days,
                 cash_points_per_yuan=cash_per_yuan,
                 cash_max_share_percent=cash_share, tier_basis=basis, tier_window_months=window,
                 tier_hold_months=hold, tiers=tuple(tiers),
                 bonus_steps=tuple(sorted(steps, key=lambda s: s.from_fen)), undo_window_minutes=undo,
                 stored_value_cap_fen=cap,
                 gifts=tuple(gifts), coupons=coupons, coupons_per_purchase=per_purchase,
                 packages=tuple(packages), bands=bands, conversion=conversion, transfer=transfer, source=text)
    check_references(rules, steps)
    return rules
