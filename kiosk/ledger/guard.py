"""The spend guard: may this operation take what it would take from a member?

Every ledger operation that spends points, stored value, coupons, package uses or gift stock
computes its :class:`Spends` from its own quote and asks the ledger's guard *before* it takes the
write lock (an online guard waits for head office, and no writer should wait with it). Inside the
transaction the operation quotes again and :func:`charge` refuses it when it would now spend more
than was approved; an offline approval consumes its allowance in the same commit as the
transaction, so a refused or rolled-back operation consumes nothing.

:class:`OfflineLimitsGuard` applies the limits head office pushed (per transaction, per member per
day, per kiosk in total, and only within the offline window since head office was last heard
from). It is every ledger's default guard. The sync layer's guard asks head office first and falls
back to it. The offline state (limits, last contact, allowances) belongs to the ledger; the sync
agent stores what head office sends through :func:`store_limits` and :func:`record_contact`.
"""
from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from .dates import from_utc_text, to_utc_text
from .errors import InvalidInput, Refused

if TYPE_CHECKING:
    from .core import LedgerCore, TxBuilder

log = logging.getLogger("kiosk.ledger.guard")

# What a kiosk may approve without head office when head office has published no limits of its own.
# fen: stored value plus coupon discounts; points: points drawn (gifts included); uses: package uses.
DEFAULT_LIMITS = {"window_hours": 24,
                  "fen": {"per_tx": 50000, "member_day": 100000, "kiosk_total": 1000000},
                  "points": {"per_tx": 5000, "member_day": 10000, "kiosk_total": 100000},
                  "uses": {"per_tx": 1, "member_day": 3, "kiosk_total": 200}}
UNITS = ("fen", "points", "uses")
CAPS = ("per_tx", "member_day", "kiosk_total")
LIMITS_KEY, CONTACT_KEY, ENROLLED_KEY = "offline_limits", "hq_contact", "hq_enrolled"


@dataclass(frozen=True)
class Spends:
    """What one operation takes: from the member, and (gifts) from this store's stock."""

    points: int = 0                         # points drawn from the member's lots
    stored_value_fen: int = 0               # principal plus bonus
    coupons: tuple[str, ...] = ()           # codes of the member's coupons used, one entry per coupon
    printed_coupons: tuple[str, ...] = ()   # "campaign:serial" of printed coupons claimed
    coupon_fen: int = 0                     # the discount those coupons give
    packages: tuple[str, ...] = ()          # package ids, one entry per use
    gifts: tuple[str, ...] = ()             # gift SKUs, one entry per item taken from stock

    def __post_init__(self):
        for name in ("points", "stored_value_fen", "coupon_fen"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidInput(f"spend {name} must be a whole number of at least 0, not {value!r}")
        for name in ("coupons", "printed_coupons", "packages", "gifts"):
            items = getattr(self, name)
            if not isinstance(items, tuple) or not all(isinstance(i, str) and 0 < len(i) <= 80 for i in items):
                raise InvalidInput(f"spend {name} must be a tuple of ids")

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def amounts(self) -> dict[str, int]:
        """What the offline limits count, by unit."""
        return {"fen": self.stored_value_fen + self.coupon_fen, "points": self.points, "uses": len(self.packages)}

    def beyond(self, approved: "Spends") -> str | None:
        """The first thing this takes beyond ``approved`` (None when it is within it)."""
        for name in ("points", "stored_value_fen", "coupon_fen"):
            if getattr(self, name) > getattr(approved, name):
                return f"{name} {getattr(self, name)} > {getattr(approved, name)}"
        for name in ("coupons", "printed_coupons", "packages", "gifts"):
            extra = _multiset_minus(getattr(self, name), getattr(approved, name))
            if extra:
                return f"{name} {', '.join(extra)}"
        return None

    def as_dict(self) -> dict:
        """The JSON form (head office's authorize request)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items() if v}

    @classmethod
    def from_dict(cls, body: dict) -> "Spends":
        unknown = set(body) - {f.name for f in fields(cls)}
        if unknown:
            raise InvalidInput(f"unknown spend {sorted(unknown)[0]!r}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in body.items()})


def _multiset_minus(have: tuple[str, ...], allowed: tuple[str, ...]) -> list[str]:
    left, extra = list(allowed), []
    for item in have:
        if item in left:
            left.remove(item)
        else:
            extra.append(item)
    return extra


NOTHING = Spends()


@dataclass(frozen=True)
class Approval:
    """A guard's answer. ``spends`` is what was approved: the transaction may take that or less."""

    approved: bool
    online: bool                # head office answered (else: the offline limits decided)
    reason: str                 # "approved", "approved_offline", "standalone" or why not
    spends: Spends = NOTHING
    hold: str | None = None     # head office's reservation, consumed when the transaction arrives


NOTHING_SPENT = Approval(True, False, "nothing_spent", NOTHING)


class SpendGuard(Protocol):
    """Decides before the write lock is taken; must not write inside a ledger transaction."""

    def approve(self, ledger: "LedgerCore", member: dict, card_id: str, spends: Spends) -> Approval: ...


# -- the offline state the ledger owns -----------------------------------------------------------
def _meta(conn, key: str):
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return json.loads(row[0]) if row else None


def _put_meta(conn, key: str, value) -> None:
    conn.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                 (key, json.dumps(value)))


def check_limits(body: dict) -> dict:
    """Head office's offline limits as the ledger keeps them (``uses`` defaulted when not given)."""
    if not isinstance(body, dict):
        raise InvalidInput("offline limits must be an object")
    window = body.get("window_hours")
    if not isinstance(window, int) or isinstance(window, bool) or not 0 <= window <= 720:
        raise InvalidInput("offline limits: window_hours must be 0-720")
    limits = {"window_hours": window}
    for unit in UNITS:
        caps = body.get(unit, DEFAULT_LIMITS[unit] if unit == "uses" else None)
        if not isinstance(caps, dict) or set(caps) != set(CAPS) or not all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in caps.values()):
            raise InvalidInput(f"offline limits: {unit} needs per_tx, member_day and kiosk_total (whole numbers >= 0)")
        limits[unit] = dict(caps)
    if "version" in body:
        limits["version"] = body["version"]
    return limits


def store_limits(conn, body: dict) -> None:
    """Keep head office's offline limits (the caller holds the write transaction)."""
    _put_meta(conn, LIMITS_KEY, check_limits(body))


def record_contact(conn, at: datetime) -> None:
    """Head office was heard from at ``at`` (the caller holds the write transaction)."""
    _put_meta(conn, CONTACT_KEY, to_utc_text(at))
    if _meta(conn, ENROLLED_KEY) is None:
        _put_meta(conn, ENROLLED_KEY, to_utc_text(at))


def forget_contact(conn) -> None:
    """A restored copy has not heard from head office itself (it stays enrolled: limits still apply)."""
    conn.execute("DELETE FROM meta WHERE key = ?", (CONTACT_KEY,))


def last_contact(conn) -> str | None:
    return _meta(conn, CONTACT_KEY)


def offline_limits(conn) -> dict | None:
    """The limits in force, or None for a ledger that has never belonged to a chain."""
    limits = _meta(conn, LIMITS_KEY)
    if limits is None and _meta(conn, ENROLLED_KEY) is None:
        return None
    return {**DEFAULT_LIMITS, **(limits or {})}


def offline_refusal(conn, tz, member_id: str, spends: Spends, now: datetime, *, chain: bool = False) -> str | None:
    """Why the offline limits refuse ``spends`` now, or None when they allow it.

    A ledger that has never heard from head office nor received its limits is standalone: it is
    the only ledger its members' balances live in, so there is nothing to overspend against and no
    limit applies, unless ``chain`` says this kiosk belongs to a chain it has not reached yet.
    """
    limits = offline_limits(conn)
    if limits is None:
        if not chain:
            return None
        limits = DEFAULT_LIMITS
    last = last_contact(conn)
    if last is None:
        return "offline_never_synced"
    if now - from_utc_text(last) > timedelta(hours=limits["window_hours"]):
        return "offline_window_passed"
    day = now.astimezone(tz).date().isoformat()
    for unit, amount in spends.amounts().items():
        if not amount:
            continue
        (member_day,) = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM offline_allowances WHERE member_id = ?"
                                     " AND unit = ? AND day = ?", (member_id, unit, day)).fetchone()
        (kiosk_total,) = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM offline_allowances WHERE unit = ?"
                                      " AND at >= ?", (unit, last)).fetchone()
        caps = limits[unit]
        for reason, used, cap in (("offline_limit_per_transaction", 0, caps["per_tx"]),
                                  ("offline_limit_member_day", member_day, caps["member_day"]),
                                  ("offline_limit_kiosk_total", kiosk_total, caps["kiosk_total"])):
            if used + amount > cap:
                return reason
    return None


class OfflineLimitsGuard:
    """Head office's offline limits, as the ledger holds them. ``chain``: this kiosk belongs to a
    chain (a sync link is configured), so never having heard from head office refuses."""

    def __init__(self, *, chain: bool = False):
        self.chain = chain

    def approve(self, ledger: "LedgerCore", member: dict, card_id: str, spends: Spends) -> Approval:
        refusal = offline_refusal(ledger.conn, ledger.tz, member["member_id"], spends, ledger.clock.now(),
                                  chain=self.chain)
        if refusal:
            return Approval(False, False, refusal, spends)
        standalone = offline_limits(ledger.conn) is None and not self.chain
        return Approval(True, False, "standalone" if standalone else "approved_offline", spends)


# -- used by the operations ----------------------------------------------------------------------
def ask(ledger: "LedgerCore", member: dict, card_id: str, spends: Spends, *, operator: str, kind: str) -> Approval:
    """Ask the ledger's guard (outside any transaction); refuse at once when it says no. The operator
    is checked first against the permissions of ``kind`` (the transaction's): no one who may not make
    it makes head office hold a member's balance."""
    if not spends:
        return NOTHING_SPENT
    ledger.require_role(operator, kind)
    approval = ledger.guard.approve(ledger, member, card_id, spends)
    log.info("spend %s by %s: %s (%s)", spends, member["member_id"], approval.reason,
             "online" if approval.online else "offline")
    if not approval.approved:
        where = "head office" if approval.online else "the offline limits"
        raise Refused(f"refused by {where}: {approval.reason}", approval.reason)
    return approval


def charge(ledger: "LedgerCore", t: "TxBuilder", approval: Approval, spends: Spends) -> None:
    """Inside the transaction, with what the operation quoted again: refuse what was not approved;
    consume an offline allowance in this very commit; name head office's hold in the record."""
    if not spends:
        return
    beyond = spends.beyond(approval.spends) if approval.approved else "nothing was approved"
    if beyond:
        raise Refused(f"this would spend more than was approved ({beyond}): try again", "spend_not_approved")
    member_id = t.record["member_id"]
    if approval.online:
        if approval.hold:
            t.record["data"]["hold"] = approval.hold
        return
    if approval.reason == "standalone" and offline_limits(t.conn) is None:
        return
    now = ledger.clock.now()
    refusal = offline_refusal(t.conn, ledger.tz, member_id, spends, now, chain=True)
    if refusal:     # another process used the allowance between the approval and the lock
        raise Refused(f"refused by the offline limits: {refusal}", refusal)
    day, at = now.astimezone(ledger.tz).date().isoformat(), to_utc_text(now)
    for unit, amount in spends.amounts().items():
        if amount:
            t.conn.execute("INSERT INTO offline_allowances (tx_id, unit, member_id, amount, day, at)"
                           " VALUES (?, ?, ?, ?, ?, ?)", (t.tx_id, unit, member_id, amount, day, at))
