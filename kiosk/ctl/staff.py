"""kioskctl staff: add, reset-pin, unlock (manager actions, each journaled), and the audit of staff actions.

PINs are prompted without echo on a terminal, or read from stdin with ``--pin-stdin`` (after the
operator's own PIN when ``--operator`` is given: two lines), never taken from the command line, where
any user of the device could read them in the process list.
"""
from __future__ import annotations

from ..cli_output import read_pin


def add_parsers(top, sub) -> None:
    staff = top.add_parser("staff", help="staff").add_subparsers(dest="sub", required=True)
    sp = sub(staff, "add", "add a staff member (an existing id is refused)", "staff", "add")
    sp.add_argument("--id", required=True, dest="staff_id")
    sp.add_argument("--name", required=True)
    sp.add_argument("--role", required=True, choices=("cashier", "manager", "technician"))
    sp.add_argument("--card", help="staff card id")
    sp = sub(staff, "reset-pin", "give a staff member a new PIN (manager; clears a lockout)", "staff", "reset-pin")
    sp.add_argument("--id", required=True, dest="staff_id")
    sp = sub(staff, "unlock", "lift a lockout after wrong PINs (manager)", "staff", "unlock")
    sp.add_argument("--id", required=True, dest="staff_id")
    sp = sub(top, "audit", "staff actions: sign-ins, failed sign-ins, lockouts, staff changes, rules replaced"
             " (manager)", "audit")
    sp.add_argument("--since", help="from this time (ISO, store-local unless it has an offset)")
    sp.add_argument("--staff", help="only records about or by this staff id")
    sp.add_argument("--limit", type=int, default=1000)


def _new_pin(args) -> str:
    return read_pin(f"New PIN for {args.staff_id}: ", args.pin_stdin)


COMMANDS = {
    ("staff", "add"): lambda a, led: led.add_staff(a.staff_id, a.name, a.role, _new_pin(a), a.card,
                                                   operator=a.operator, at=a.at),
    ("staff", "reset-pin"): lambda a, led: led.reset_pin(a.staff_id, _new_pin(a), operator=a.operator, at=a.at),
    ("staff", "unlock"): lambda a, led: led.unlock_staff(a.staff_id, operator=a.operator, at=a.at),
    ("audit",): lambda a, led: {"audit": led.audit(since=a.since, staff_id=a.staff, limit=a.limit)},
}
