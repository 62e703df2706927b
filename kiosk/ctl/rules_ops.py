"""kioskctl commands of the second-round rules: a member's visit (birthday coupon, top-up bonus
instalments due), points into stored value, points transfer. Hooked into kiosk/cli.py."""
from __future__ import annotations

import argparse

from ..ledger import ADMIN, InvalidInput, parse_count


def _points(text: str) -> int:
    try:
        return parse_count(text, what="points")
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _member_or(operator: str) -> str:
    """The local administrator acting without a staff id stands for the member at the counter."""
    return "self" if operator == ADMIN else operator


def add_parsers(top, sub) -> None:
    sp = sub(top, "visit", "pay out what is due to a member: birthday coupon, top-up bonus instalments", "visit")
    sp.add_argument("--card", required=True)
    points = top.add_parser("points", help="points into stored value, points transfer").add_subparsers(
        dest="sub", required=True)
    sp = sub(points, "convert", "convert points into bonus stored value (rules' rate, daily cap)",
             "points", "convert")
    sp.add_argument("--card", required=True)
    sp.add_argument("--points", type=_points, required=True)
    sp = sub(points, "transfer", "give points to another member (rules' daily cap)", "points", "transfer")
    sp.add_argument("--card", required=True, help="the giving member's card")
    sp.add_argument("--to-card", required=True, help="the receiving member's card")
    sp.add_argument("--points", type=_points, required=True)


COMMANDS = {
    ("visit",): lambda a, led: led.visit(a.card, operator=_member_or(a.operator), at=a.at),
    ("points", "convert"): lambda a, led: led.convert_points(a.card, a.points, operator=_member_or(a.operator),
                                                              at=a.at),
    ("points", "transfer"): lambda a, led: led.transfer_points(a.card, a.to_card, a.points,
                                                                operator=_member_or(a.operator), at=a.at),
}
