"""Plain messages for every refusal a person can meet at the kiosk, in their language.

Keys are the ledger's stable error codes and the drivers' refusal reasons; the English detail
the ledger or driver gives goes to the log, never to the screen, and never a traceback.
"""
from __future__ import annotations

import re

from .presenter import N_, Translate

LEDGER = {
    "unknown_card": N_("This card is not registered. Please ask staff for help."),
    "card_blocked": N_("This card is blocked (reported lost or replaced). Please see staff."),
    "member_closed": N_("This membership is closed. Please see staff."),
    "already_checked_in": N_("You have already checked in today. See you tomorrow!"),
    "insufficient_points": N_("Not enough points for this."),
    "out_of_stock": N_("Sorry, this gift is out of stock."),
    "insufficient_stored_value": N_("The stored value is not enough for this payment."),
    "no_coupon": N_("The member does not hold this coupon."),
    "coupon_used": N_("This printed coupon has already been used."),
    "coupon_not_applicable": N_("This coupon does not apply to this purchase."),
    "coupon_min_spend": N_("The purchase is below this coupon's minimum spend."),
    "points_cash_cap": N_("Points can pay at most half of this purchase."),
    "too_many_coupons": N_("Only one coupon per purchase."),
    "refund_too_large": N_("That is more than is left to refund on this purchase."),
    "undo_window_passed": N_("This top-up is too old to undo."),
    "topup_spent": N_("Stored value was spent after this top-up; it cannot be undone."),
    "already_undone": N_("This top-up was already undone."),
    "no_package": N_("No package with uses left."),
    "phone_in_use": N_("This phone number is already registered to another member."),
    "unknown_phone": N_("No member has this phone number."),
    "card_in_use": N_("This card is already in use. Please tap a blank card."),
    "card_known": N_("This member is known here: record an ordinary purchase."),
    "card_not_current": N_("This card was already replaced. Only the member's current card can be replaced."),
    "forbidden": N_("Your role cannot do this. Please ask a manager."),
    "unknown_staff": N_("This is not a staff card."),
    "staff_locked": N_("Too many wrong PINs: this staff card is locked for 15 minutes."),
    "invalid_input": N_("Please check what was entered."),
    "receipt_too_old": N_("This receipt is too old to claim points."),
    "offline_never_synced": N_("Not yet connected to head office: nothing can be spent offline."),
    "offline_window_passed": N_("Head office has been unreachable too long: spending is paused until it is back."),
    "offline_limit_per_transaction": N_("Offline, this is more than one transaction may spend."),
    "offline_limit_member_day": N_("Offline, this member has reached today's spending limit."),
    "offline_limit_kiosk_total": N_("Offline, this kiosk has reached its spending limit."),
    "spend_not_approved": N_("The balance changed while this was being approved. Please try again."),
    "late": N_("Head office answered too late. Please try again."),
    "invalid_request": N_("Head office could not read this request. Please see staff."),
    "source_refused": N_("Head office does not accept this kiosk (not enrolled or retired). Please see staff."),
    "already_claimed": N_("This receipt has already been claimed."),
    "nothing_to_do": N_("Nothing to do."),
    "not_a_member": N_("Please tap a member card first."),
    "unknown_gift": N_("This gift is not in the catalogue."),
    "unknown_coupon": N_("This coupon is not valid here."),
    "daily_cap": N_("That is more than today's limit."),
    "not_allowed": N_("The rules do not allow this."),
}

CODES = {
    "unknown-format": N_("This code is not one we know."),
    "malformed": N_("This code could not be read. Please try again."),
    "not-accepted": N_("This kind of card or code is not accepted here."),
    "no-key": N_("This kiosk is not set up to check this card or code. Please see staff."),
    "bad-signature": N_("This card or code is not genuine and was refused."),
    "expired": N_("This code has expired. Please refresh it on your phone."),
    "replayed": N_("This code was already used. Please refresh it on your phone."),
    "busy": N_("The kiosk is busy. Please try again in a moment."),
}

# A version-2 card of a member this kiosk does not hold (ledger ``purchase_deferred``).
DEFERRED_MEMBER = N_("Your card is from another store. Staff can record your purchase here;"
                     " head office adds the points.")
DEFERRED_NOTE = N_("Member of another store: paid at the till, points credited by head office.")

_TRIES_LEFT = re.compile(r"\((\d+) tries left\)")


def for_failure(code: str, detail: str, _: Translate) -> str:
    """The message for a ledger refusal (``code``); ``detail`` is the ledger's English message."""
    if code == "wrong_pin":
        match = _TRIES_LEFT.search(detail)
        return _("Wrong PIN. {n} tries left.").format(n=match.group(1)) if match else _("Wrong PIN.")
    if code in LEDGER:
        return _(LEDGER[code])
    return _("Sorry, this could not be done. Please ask staff. (code: {code})").format(code=code)


def for_reason(reason: str, _: Translate) -> str:
    """The message for a refused card or code (a reason key from the drivers)."""
    return _(CODES.get(reason, CODES["unknown-format"]))
