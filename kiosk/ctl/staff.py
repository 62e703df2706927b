"""kioskctl staff: add, reset-pin, unlock (manager actions, each journaled).

PINs are read from stdin (``--pin-stdin``; prompted without echo on a terminal), never taken from
the command line, where any user of the device could read them in the process list.
"""
from __future__ import annotations

import getpass
import sys

from kiosk.ledger import InvalidInput


def add_parsers(top, sub) -> None:
    staff = top.add_parser("staff", help="staff").add_subparsers(dest="sub", required=True)
    sp = sub(staff, "add", "add a staff member (an existing id is refused)", "staff", "add")
    sp.add_argument("--id", required=True, dest="staff_id")
    sp.add_argument("--name", required=True)
    sp.add_argument("--role", required=True, choices=("cashier", "manager", "technician"))
    _pin_stdin(sp)
    sp.add_argument("--card", help="staff card id")
    sp = sub(staff, "reset-pin", "give a staff member a new PIN (manager; clears a lockout)", "staff", "reset-pin")
    sp.add_argument("--id", required=True, dest="staff_id")
    _pin_stdin(sp)
    sp = sub(staff, "unlock", "lift a lockout after wrong PINs (manager)", "staff", "unlock")
    sp.add_argument("--id", required=True, dest="staff_id")


def _pin_stdin(parser) -> None:
    parser.add_argument("--pin-stdin", action="store_true", required=True,
                        help="read the PIN (4-8 digits) from stdin")


def read_pin() -> str:
    """One line from stdin, or a prompt without echo when stdin is a terminal."""
    pin = getpass.getpass("PIN: ") if sys.stdin.isatty() else sys.stdin.readline()
    pin = pin.strip()
    if not pin:
        raise InvalidInput("no PIN on stdin")
    return pin


COMMANDS = {
    ("staff", "add"): lambda a, led: led.add_staff(a.staff_id, a.name, a.role, read_pin(), a.card,
                                                   operator=a.operator, at=a.at),
    ("staff", "reset-pin"): lambda a, led: led.reset_pin(a.staff_id, read_pin(), operator=a.operator, at=a.at),
    ("staff", "unlock"): lambda a, led: led.unlock_staff(a.staff_id, operator=a.operator, at=a.at),
}
