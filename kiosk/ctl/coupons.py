"""kioskctl: printed coupons on a purchase (``--printed-coupon KC1:...``).

The code is verified with ``[codes] coupon_secret`` exactly as the kiosk's scanner path does;
the ledger then takes its (campaign, serial) and refuses a serial already used.
"""
from __future__ import annotations

from drivers.codes import CodeVerifier, CouponCode
from kiosk.ledger import InvalidInput


def add_arguments(parser) -> None:
    parser.add_argument("--printed-coupon", action="append", default=[], metavar="CODE",
                        help="a printed coupon's code, KC1:<campaign>:<serial>:<mac> (repeatable)")


def verified(args) -> list[tuple[str, int]]:
    """(campaign, serial) of each --printed-coupon, or InvalidInput naming why a code is refused."""
    if not args.printed_coupon:
        return []
    verifier = CodeVerifier.from_config(args.codes)
    found = []
    for text in args.printed_coupon:
        code = verifier.check(text)
        if not isinstance(code, CouponCode):
            raise InvalidInput(f"printed coupon {text[:40]!r} refused: {code.reason} ({code.detail})",
                               "bad_coupon_code")
        found.append((code.campaign, code.serial))
    return found
