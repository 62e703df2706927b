"""Issuing member cards' tokens at head office: version 2, naming the card's member (drivers/tokens.py).

Head office signs with the member-token key, whose public half kiosks hold as ``[cards] token_public_key``
and hubs as ``kiosk-hq run --token-public-key``. The member id a version-2 token carries lets a kiosk
that does not hold the member record a purchase head office credits (docs/sync.md, "Deferred earning").
"""
from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from drivers.tokens import make_member_token

from .ops_cli import Refusal


def load_key(path: str | Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return key


def standing(conn, card_id: str) -> tuple[str, str, str] | None:
    """(member id, card status, member status) of a card head office knows, else None."""
    return conn.execute("SELECT c.member_id, c.status, m.status FROM cards c JOIN members m"
                        " ON m.member_id = c.member_id WHERE c.card_id = ?", (card_id,)).fetchone()


def card_token(conn, key: Ed25519PrivateKey, card_id: str, *, uid: bytes, issued_at: int) -> dict:
    """The NDEF message (hex) to write on an active card head office knows, bound to the chip ``uid``."""
    row = standing(conn, card_id)
    if row is None:
        raise Refusal(f"card {card_id} is not known at head office", "unknown_card")
    if (row[1], row[2]) != ("active", "active"):
        raise Refusal(f"card {card_id} is {row[1]} and its member {row[2]}: no token for it", "card_blocked")
    message = make_member_token(key, card_id, issued_at, uid, member_id=row[0])
    return {"card_id": card_id, "member_id": row[0], "version": 2, "bytes": len(message), "ndef": message.hex(),
            "token_public_key": public_hex(key)}


def public_hex(key: Ed25519PrivateKey) -> str:
    """The key's public half as kiosks' ``[cards] token_public_key`` (and ``kioskctl provision
    --token-public-key``, ``kiosk-hq run --token-public-key``) take it."""
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()
