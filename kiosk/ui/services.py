"""The few ledger reads the UI needs that are more than one ledger call (run on the worker).

Writes are single ledger calls made by the flows; this module holds the reads that combine
calls, and the two look-ups the ledger does not offer yet (see the UI hand-over notes).
"""
from __future__ import annotations

from fractions import Fraction

from kiosk.ledger import NotFound, Refused


def staff_for_card(led, card_id: str) -> dict | None:
    """The staff member a card belongs to, or None (requested as ``Ledger.staff_for_card``)."""
    row = led.conn.execute("SELECT staff_id, name, role FROM staff WHERE card_id = ?", (card_id,)).fetchone()
    return dict(zip(("staff_id", "name", "role"), row)) if row else None


def _percent(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def coupon_terms(led, code: str) -> dict:
    """A coupon's terms from the rules, so the screen can describe it in either language."""
    coupon = led.rules.coupon(code)
    if coupon is None:
        return {}
    return {"kind": coupon.kind, "percent": _percent(coupon.percent), "cap_fen": coupon.cap_fen,
            "threshold_fen": coupon.threshold_fen, "off_fen": coupon.off_fen, "value_fen": coupon.value_fen,
            "min_spend_fen": coupon.min_spend_fen}


def member_snapshot(led, card_id: str, history: int = 10) -> dict:
    """The member view plus what the rules say about it: next tier, coupon terms, check-in points."""
    view = led.member_view(card_id, history=history, require_active=True)
    rules = led.rules
    view["tier_basis"] = rules.tier_basis
    view["checkin_points"] = rules.checkin_points
    if view["next_tier"]:
        tier = rules.tier(view["next_tier"])
        view["next_tier_name"], view["next_tier_name_zh"] = tier.name, tier.name_zh
        view["next_tier_threshold"] = tier.threshold
    for coupon in view["coupons"]:
        coupon.update(coupon_terms(led, coupon["code"]))
    return view


def read_card(led, card_id: str) -> dict:
    """What a tapped card is here: staff, member (with the snapshot), unknown (blank) or refused.

    Never raises for an expected answer, so the UI can decide what the tap means (a blank card is
    welcome when issuing one, and a plain message otherwise).
    """
    staff = staff_for_card(led, card_id)
    if staff:
        return {"kind": "staff", "card_id": card_id, **staff}
    try:
        return {"kind": "member", "card_id": card_id, "view": member_snapshot(led, card_id)}
    except NotFound:
        return {"kind": "unknown", "card_id": card_id}
    except Refused as exc:
        return {"kind": "refused", "card_id": card_id, "code": exc.code}


def read_member_qr(led, qr_id: str) -> dict:
    """A phone QR code names a member (or, in the demo, a card number): open that member's active card.

    The ledger's member ids ("m" + 20 hex digits) do not fit the QR format's id (up to 20 of 0-9A-Z);
    until they agree (see the hand-over notes) both readings are tried.
    """
    member = led.conn.execute("SELECT member_id FROM members WHERE member_id = ?", (qr_id.lower(),)).fetchone() \
        or led.conn.execute("SELECT member_id FROM cards WHERE card_id = ?", (qr_id,)).fetchone()
    row = member and led.conn.execute(
        "SELECT card_id FROM cards WHERE member_id = ? ORDER BY status = 'active' DESC, issued_at DESC LIMIT 1",
        member).fetchone()
    if not row:
        return {"kind": "unknown", "card_id": ""}
    return read_card(led, row[0])


def claim_receipt(led, card_id: str, receipt) -> dict:
    """Claim a verified receipt's points, when the ledger can (requested as ``Ledger.claim_receipt``)."""
    claim = getattr(led, "claim_receipt", None)
    if claim is None:
        raise Refused("claiming points from a receipt is not available on this kiosk yet", "claim_unavailable")
    return claim(card_id, store_id=receipt.store_id, pos_txn=receipt.pos_txn, amount_fen=receipt.amount_fen,
                 issued_at=receipt.issued_at, operator="self")


def head_office_status(led) -> dict:
    """Whether head office is reachable, the unsent backlog and the last contact.

    The sync agent (a separate process) does not publish its status yet; until it does, head
    office counts as unreachable. This is the one place to wire it.
    """
    return {"reachable": False, "last_contact": None, "backlog": led.outbox_backlog()}
