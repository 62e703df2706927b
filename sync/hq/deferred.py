"""Deferred earning: a kiosk's purchase by a member it does not hold, credited by head office.

A kiosk that does not hold a member (another store's, offline or not found) can still serve them when
their card carries a version-2 token (drivers/tokens.py): head office's signature over the card id and
the member id. The kiosk journals a ``purchase_deferred`` record with no effects (nothing spent,
nothing earned there) stating the call (card, member, token, lines). Head office checks here that the
token is its own, names this card and this member, and that the card and member are active; then it
prices the purchase again with the member's own tier, birthday and rules of the record's moment
(rederive.Verifier.credit) and originates a ``purchase`` record crediting the points, linked to the
kiosk's record (``ref_tx``) and named by it (:func:`credit_tx_id`), so a resend or a second hub can
never credit twice. The member's home-store kiosks get the credit through the feed (docs/sync.md).
"""
from __future__ import annotations

import uuid
from dataclasses import replace
from fractions import Fraction

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from drivers.tokens import read_member_token
from drivers.verdict import Refused

from .card_tokens import standing

KIND = "purchase_deferred"
_CREDITS = uuid.UUID("6f1d2c1e-8a53-4f7a-9d0c-5b2f0e7a4c11")    # the namespace of credit ids


def credit_tx_id(deferred_tx: str) -> str:
    """The one id head office's credit for a deferred purchase can have."""
    return str(uuid.uuid5(_CREDITS, deferred_tx))


def paid_in_full(rules):
    """The rules a deferred purchase is priced with: the member's tier gives no discount (the kiosk could
    not know it, so the member paid the full amount at the till), everything else as it is (the tier's
    and the day's points multipliers, bands, the birthday month)."""
    return replace(rules, tiers=tuple(replace(t, discount_percent=Fraction(0)) for t in rules.tiers))


def problem(conn, record: dict, key: Ed25519PublicKey | None) -> str | None:
    """Why head office will not credit this deferred purchase, or None when it will."""
    if key is None:
        return "head office has no member-token key (kiosk-hq run --token-public-key)"
    if record["effects"]:
        return "a deferred purchase changes nothing at the kiosk, and this one has effects"
    args = record["inputs"].get("args")
    args = args if isinstance(args, dict) else {}
    card_id, member_id, token = args.get("card_id"), args.get("member_id"), args.get("token")
    lines = args.get("lines")
    if not (isinstance(lines, list) and lines and all(
            isinstance(line, dict) and type(line.get("amount_fen")) is int and line["amount_fen"] > 0 for line in lines)):
        return "the lines must be a list of positive whole amounts in fen"
    try:
        payload = bytes.fromhex(token) if isinstance(token, str) else b""
    except ValueError:
        payload = b""
    read = read_member_token(payload, key)
    if isinstance(read, Refused):
        return f"the card token is not head office's: {read.detail}"
    if read.version < 2 or (read.card_id, read.member_id) != (card_id, member_id) or member_id != record["member_id"]:
        return "the card token names another card or member than the record"
    row = standing(conn, card_id)
    if row is None or row[0] != member_id:
        return f"card {card_id} is not member {member_id}'s at head office"
    if row[1] != "active" or row[2] != "active":
        return f"card {card_id} is {row[1]} and its member {row[2]}"
    held = conn.execute("SELECT reason FROM blocklist WHERE card_id = ?", (card_id,)).fetchone()
    if held:
        return f"card {card_id} is held: {held[0]}"
    return None
