"""Who may do what: the one table the ledger, kioskctl and the touchscreen all read.

An action is a journal kind (``purchase``, ``staff_add``...) or a command that writes nothing
(``view``, ``audit``...). Its entry lists the roles allowed: staff roles, ``self`` (the member at
the kiosk acting for themselves) or :data:`EVERYONE` (device diagnostics that need no identity).
The local administrator (root on the device, see docs/security.md) may do everything; an empty
entry means the administrator only.
"""
from __future__ import annotations

from .errors import Refused

ADMIN = "admin"          # the local administrator: every action
SELF = "self"            # the member at the kiosk, acting for themselves
CASHIER, MANAGER, TECHNICIAN = "cashier", "manager", "technician"
STAFF_ROLES = (CASHIER, MANAGER, TECHNICIAN)
EVERYONE = "everyone"    # needs no identity: reads the device, not the ledger's members

_COUNTER = frozenset({CASHIER, MANAGER})
_MEMBER = _COUNTER | {SELF}
_MANAGER = frozenset({MANAGER})
_STAFF = frozenset(STAFF_ROLES)
_ADMIN_ONLY: frozenset[str] = frozenset()

PERMISSIONS: dict[str, frozenset[str]] = {
    # a member at the kiosk, or staff at the counter for them
    **dict.fromkeys(("checkin", "receipt_claim", "benefits", "convert", "transfer"), _MEMBER),
    # counter work
    **dict.fromkeys(("register", "profile", "card_lost", "card_replace", "purchase", "purchase_deferred", "refund",
                     "topup", "package_sell", "package_use", "coupon_issue", "redeem", "expire", "view"), _COUNTER),
    # a manager's decisions, and the staff list
    **dict.fromkeys(("close", "erase", "topup_undo", "adjust", "tier", "stock", "rules_replaced", "staff_add",
                     "staff_pin_reset", "staff_unlock", "journal", "audit"), _MANAGER),
    # every staff member's own sign-in (the records of an attempt)
    **dict.fromkeys(("staff_sign_in", "staff_sign_in_failed", "staff_lockout"), _STAFF),
    "summary": _STAFF,
    "verify": frozenset({MANAGER, TECHNICIAN}),
    # the device: diagnostics anyone who can run kioskctl may read; the ledger file as a whole is root's
    **dict.fromkeys(("status", "doctor", "config_show", "provision"), frozenset({EVERYONE})),
    **dict.fromkeys(("logs", "backup", "restore", "prune"), _ADMIN_ONLY),
}


def allowed(role: str | None, action: str) -> bool:
    """Whether ``role`` (a staff role, ``self``, ``admin``, or None for nobody) may do ``action``."""
    roles = PERMISSIONS[action]
    return EVERYONE in roles or role == ADMIN or (role is not None and role in roles)


def needs_identity(action: str) -> bool:
    return EVERYONE not in PERMISSIONS[action]


def require(role: str | None, action: str, who: str) -> None:
    """Refuse ``who`` (an operator's name for the message) unless their role allows ``action``."""
    if allowed(role, action):
        return
    if role == SELF:
        raise Refused("staff sign-in needed for this", "forbidden")
    needed = " or ".join(f"a {r}" for r in sorted(PERMISSIONS[action])) or "the local administrator"
    raise Refused(f"operator {who} is a {role}; this needs {needed}", "forbidden")
