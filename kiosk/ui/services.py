"""The ledger and head-office calls the UI makes that are more than one call (run on the worker).

Writes are single ledger calls made by the flows (the ledger asks its spend guard, head office or
the offline limits, itself); this module holds the reads that combine calls and the head-office status.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from fractions import Fraction
from pathlib import Path

from kiosk.ledger import NotFound, Refused, pictures
from kiosk.ledger.pricing import multiplier_applies


GIFT_PICTURES = "gift-pictures"


def _percent(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):g}"


def coupon_rule(led, code: str) -> dict:
    """A coupon's terms from the rules, so the screen can describe it in either language."""
    coupon = led.rules.coupon(code)
    if coupon is None:
        return {}
    return {"kind": coupon.kind, "percent": _percent(coupon.percent), "cap_fen": coupon.cap_fen,
            "threshold_fen": coupon.threshold_fen, "off_fen": coupon.off_fen, "value_fen": coupon.value_fen,
            "min_spend_fen": coupon.min_spend_fen}


def member_snapshot(led, card_id: str, history: int = 10, *, at: str | None = None) -> dict:
    """The member view plus what the rules say about it (next tier, coupon terms, check-in points) and
    whether the balance head office confirmed is changed by this kiosk's unconfirmed transactions."""
    view = led.member_view(card_id, history=history, require_active=True, at=at)
    view["unconfirmed"] = _changed_since_confirmed(led, view)
    rules = led.rules
    view["checkin_points"] = rules.checkin_points
    if view["next_tier"]:
        tier = rules.tier(view["next_tier"])
        view["next_tier_name"], view["next_tier_name_zh"] = tier.name, tier.name_zh
        view["next_tier_threshold"] = tier.threshold
    for coupon in view["coupons"]:
        coupon.update(coupon_rule(led, coupon["code"]))
    held = {p["package_id"]: p for p in view["packages"]}
    for item in view["history"]:
        if item["kind"] == "package_use":      # which package, and how many uses it has left
            data = led.tx_record(item["tx_id"])["data"]
            package = held.get(data.get("package_id"), {})
            item["package"], item["package_en"] = package.get("name", ""), package.get("name_en", "")
            item["remaining"] = data.get("remaining")
    return view


def gift_catalogue(led) -> list[dict]:
    """The gifts with each one's picture: head office's, as the sync agent cached it; else the file the
    rules name in the local ``gift-pictures/`` beside the ledger; else "" and the screen shows an icon."""
    folder, published = Path(led.path).parent / GIFT_PICTURES, pictures.cached(led.path)
    gifts = led.gifts()
    for gift in gifts:
        local = folder / gift["picture"] if gift["picture"] else None
        gift["picture"] = published.get(gift["sku"]) or (str(local) if local and local.is_file() else "")
    return gifts


def _changed_since_confirmed(led, view: dict) -> bool:
    """True when the shown balance (DESIGN rule 7) is not head office's confirmed one as it stands: this
    kiosk's own transactions that head office has not confirmed yet move it."""
    shown = view["shown_balance"]
    if shown is None:
        return False
    confirmed = led.confirmed_balance(view["member_id"])
    return (shown["points"], shown["stored_value_fen"]) != (confirmed["points"],
                                                            confirmed["principal_fen"] + confirmed["bonus_fen"])


def topup_offer(led, amount_fen: int) -> dict:
    """What a top-up of this amount gets now (stored-value bonus) and what else its bonus step gives."""
    step = led.rules.bonus_step(amount_fen)
    extras = {"points": step.points, "coupon": step.coupon, "package": step.package,
              "instalments": step.instalments} if step else {"points": 0, "coupon": "", "package": "", "instalments": 1}
    return {"bonus_fen": led.topup_bonus(amount_fen), **extras}


def read_card(led, card_id: str, *, at: str | None = None, counter: int | None = None,
              head_office=None, proof: tuple[str, str] | None = None) -> dict:
    """What a tapped card is here: staff, member (with the snapshot), unknown (blank), deferred or refused.

    A member's tap is a visit: what is due to them (their tier's birthday coupon, top-up bonus
    instalments) is paid out first, so the snapshot already shows it. Never raises for an expected
    answer, so the UI can decide what the tap means (a blank card is welcome when issuing one, and a
    plain message otherwise). ``counter`` is an NTAG 424 DNA card's read counter for this tap: the
    member's transactions carry it to head office. ``proof``: (member id, token) of a version-2 card
    token; a card this kiosk does not hold (nor head office could tell it about) is then ``deferred``:
    a member whose purchase head office credits (ledger ``purchase_deferred``).
    """
    staff = led.staff_for_card(card_id)
    if staff:
        return {"kind": "staff", "card_id": card_id, **staff}
    led.card_read(card_id, counter)
    try:
        try:
            led.visit(card_id, at=at)
        except NotFound:            # a member this kiosk does not hold (another store's): ask head office
            if head_office is None or not head_office.learn_member(card_id):
                raise
            led.visit(card_id, at=at)
        view = member_snapshot(led, card_id, at=at)
        if view["unreadable"] and head_office is not None and head_office.learn_member(card_id):
            view = member_snapshot(led, card_id, at=at)          # another store's member: now with their name
        return {"kind": "member", "card_id": card_id, "view": view}
    except NotFound:
        if proof is not None:
            return {"kind": "deferred", "card_id": card_id, "member_id": proof[0], "token": proof[1]}
        return {"kind": "unknown", "card_id": card_id}
    except Refused as exc:
        return {"kind": "refused", "card_id": card_id, "code": exc.code}


def read_member_qr(led, member_id: str, head_office=None) -> dict:
    """A phone QR code names a member: open that member's active card."""
    card = led.card_for_member(member_id)
    return read_card(led, card, head_office=head_office) if card else {"kind": "unknown", "card_id": ""}


def claim_receipt(led, card_id: str, receipt) -> dict:
    """Claim a verified receipt's points for the member on screen."""
    return led.claim_receipt(card_id, store_id=receipt.store_id, pos_txn=receipt.pos_txn,
                             amount_fen=receipt.amount_fen, issued_at=receipt.issued_at, operator="self")


def todays_campaigns(led, now: datetime) -> list[dict]:
    """The points multipliers in the rules that a member can use today, for the attract screen:
    those whose day holds now (Wednesdays, member days, dated campaigns; time-of-day windows count
    for the whole day), and the birthday month, which holds for some member every day."""
    local = now.astimezone(led.tz)
    found = []
    for m in led.rules.multipliers:
        if m.birthday_month:
            found.append({"kind": "birthday", "factor": _percent(m.factor)})
        elif multiplier_applies(replace(m, time_from=None, time_until=None), local, None):
            kind = "weekday" if m.weekdays else "member_day" if m.days_of_month else "campaign"
            found.append({"kind": kind, "factor": _percent(m.factor), "weekday": local.isoweekday(),
                          "until": m.date_until.isoformat() if m.date_until else None,
                          "limited": bool(m.skus or m.categories)})
    return found


def head_office_status(led, head_office=None) -> dict:
    """Whether head office is reachable, the unsent backlog, the last contact and its open
    corrections: the sync link's answer (this one function is where the UI learns about sync).
    Without a link (a simulation with no head-office key) the kiosk is simply not connected."""
    if head_office is None:
        return {"reachable": False, "last_contact": None, "backlog": led.outbox_backlog(), "corrections": []}
    status = head_office.status()
    return {"reachable": status["online"], "last_contact": status["last_contact"], "backlog": status["backlog"],
            "corrections": head_office.corrections()}
