"""Who runs a kioskctl command, and whether they may (docs/security.md).

- Without ``--operator``: the local administrator, when the process runs as root or in the group
  named by ``[kiosk] admin_group`` (settable in /etc/kiosk/kiosk.toml or KIOSK_ADMIN_GROUP only,
  never by ``--config``). Anyone else is refused.
- ``--operator STAFF``: that staff member, proven by their PIN: prompted without echo, or the first
  line of stdin with ``--pin-stdin`` (never an argument, where ``ps`` shows it). The ledger's own
  sign-in checks it, so wrong PINs count towards the touchscreen's lockout and are journaled.

Every command names the action it performs in :mod:`kiosk.ledger.permissions`; the role allowed
there is checked before the command runs (and the ledger checks each write again).
"""
from __future__ import annotations

import grp
import os

from ..cli_output import read_pin
from ..ledger import ADMIN, SELF, Ledger, NotFound, Refused, permissions
from .base import CtlError

ACTIONS: dict[tuple[str, ...], str] = {
    ("init",): "rules_replaced",
    ("member", "add"): "register", ("member", "edit"): "profile", ("member", "lost"): "card_lost",
    ("member", "replace"): "card_replace", ("member", "close"): "close", ("member", "erase"): "erase",
    ("tx", "earn"): "purchase", ("tx", "spend"): "purchase", ("tx", "quote"): "view", ("tx", "checkin"): "checkin",
    ("tx", "redeem"): "redeem", ("tx", "topup"): "topup", ("tx", "undo"): "topup_undo", ("tx", "refund"): "refund",
    ("tx", "adjust"): "adjust", ("tx", "package-sell"): "package_sell", ("tx", "package-use"): "package_use",
    ("coupon", "issue"): "coupon_issue", ("expire",): "expire", ("tiers", "evaluate"): "tier",
    ("show",): "view", ("gifts",): "view", ("summary",): "summary", ("journal",): "journal", ("verify",): "verify",
    ("audit",): "audit",
    ("staff", "add"): "staff_add", ("staff", "reset-pin"): "staff_pin_reset", ("staff", "unlock"): "staff_unlock",
    ("visit",): "benefits", ("points", "convert"): "convert", ("points", "transfer"): "transfer",
    ("config", "show"): "config_show", ("doctor",): "doctor", ("status",): "status", ("provision",): "provision",
    ("logs",): "logs", ("backup",): "backup", ("restore",): "restore", ("prune",): "prune",
}


def is_administrator(admin_group: str, euid: int | None = None, groups: list[int] | None = None) -> bool:
    """Root, or a member of ``admin_group`` (empty: root only)."""
    if (os.geteuid() if euid is None else euid) == 0:
        return True
    if not admin_group:
        return False
    try:
        gid = grp.getgrnam(admin_group).gr_gid
    except KeyError:
        return False
    return gid in (groups if groups is not None else [os.getegid(), *os.getgroups()])


def identify(args, cfg) -> str:
    """The command's action, once the caller may attempt it: sets ``args.operator`` to ``admin`` for
    the administrator; a staff operator still has to prove their PIN (:func:`sign_in`)."""
    action = ACTIONS[args.path]
    if not permissions.needs_identity(action):
        return action
    if args.operator in (None, ADMIN):
        group = cfg.get("kiosk", "admin_group")
        if not is_administrator(group):
            raise CtlError("only the local administrator (root" + (f" or group {group}" if group else "")
                           + ") may run kioskctl without --operator; give --operator STAFF_ID and their PIN",
                           "not_administrator")
        args.operator = ADMIN
    elif args.operator == SELF:
        raise CtlError("--operator self is the member at the touchscreen: give a staff id", "forbidden")
    elif not permissions.PERMISSIONS[action] - {SELF}:
        raise CtlError(f"{' '.join(args.path)} is for the local administrator (root) only", "forbidden")
    return action


def sign_in(args, led: Ledger, action: str) -> None:
    """Prove a staff operator by their PIN, then check their role allows ``action``."""
    if args.operator == ADMIN:
        return
    pin = read_pin(f"PIN for {args.operator}: ", args.pin_stdin)
    try:
        staff = led.sign_in(args.operator, pin)
    except NotFound:
        raise Refused(f"unknown operator {args.operator!r}", "unknown_operator") from None
    args.operator = staff["staff_id"]
    permissions.require(staff["role"], action, staff["staff_id"])
