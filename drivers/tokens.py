"""Signed NDEF member tokens: head office's Ed25519 signature over a card id, issue time and chip UID
(version 1), and from version 2 the member id too.

A bare UID can be forged by anyone with a writable-UID card; a token cannot be minted without
head office's private key, and binding it to the chip's UID means copying the NDEF message to
another card fails too. Version 2 names the card's member, so a kiosk that does not hold the member
(another store's, offline) can still record a purchase whose points head office credits later
(docs/sync.md, "Deferred earning"). Format (docs/hardware.md): one NFC Forum external record
``loyalty.kiosk:member`` whose payload is

    version (1 byte) | issued_at (uint32 BE) | uid_len (1) | uid | id_len (1) | card_id (ASCII)
        [version 2: | member_len (1) | member_id (ASCII)] | signature (64)

signed over ``b"loyalty.kiosk:member/<version>\\0"`` + everything before the signature.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import ndef
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from drivers.verdict import BAD_SIGNATURE, MALFORMED, MemberCard, Refused

RECORD_TYPE = "urn:nfc:ext:loyalty.kiosk:member"
DOMAINS = {1: b"loyalty.kiosk:member/1\x00", 2: b"loyalty.kiosk:member/2\x00"}
CARD_ID = re.compile(r"[0-9A-Za-z-]{1,32}")
SIGNATURE_LEN = 64


@dataclass(frozen=True)
class Token:
    """A token whose signature verified (its chip binding is the caller's to check)."""
    version: int
    issued_at: int
    uid: bytes              # the chip it is bound to; empty: any chip
    card_id: str
    member_id: str | None   # version 2 only


def public_key_from_hex(text: str | None) -> Ed25519PublicKey | None:
    """Head office's token key from its hex, as kiosks' ``[cards] token_public_key``, ``kioskctl provision
    --token-public-key`` and ``kiosk-hq run --token-public-key`` take it; None: none given."""
    if not text:
        return None
    try:
        return Ed25519PublicKey.from_public_bytes(bytes.fromhex(text))
    except ValueError as exc:
        raise ValueError(f"token public key: 64 hex digits expected ({exc})") from None


def _field(text: str, what: str) -> bytes:
    if not CARD_ID.fullmatch(text):
        raise ValueError(f"{what} must be 1-32 letters, digits or '-'")
    return bytes([len(text)]) + text.encode()


def make_member_token(private_key: Ed25519PrivateKey, card_id: str, issued_at: int, uid: bytes = b"",
                      member_id: str | None = None) -> bytes:
    """The NDEF message to write on a card: version 2 when ``member_id`` is given (head office's issuing
    command ``kiosk-hq card-token`` always gives it), else version 1."""
    if len(uid) > 10 or not 0 <= issued_at < 2**32:
        raise ValueError("uid must be at most 10 bytes and issued_at a uint32")
    version = 1 if member_id is None else 2
    body = struct.pack(">BIB", version, issued_at, len(uid)) + uid + _field(card_id, "card_id")
    if member_id is not None:
        body += _field(member_id, "member_id")
    payload = body + private_key.sign(DOMAINS[version] + body)
    return b"".join(ndef.message_encoder([ndef.Record(RECORD_TYPE, "", payload)]))


def find_token(records: list) -> bytes | None:
    """The payload of the first member-token record, if the message has one."""
    for record in records:
        if record.type == RECORD_TYPE:
            return bytes(record.data)
    return None


def _texts(rest: bytes, count: int) -> list[str] | None:
    """``count`` length-prefixed ASCII fields that make up all of ``rest``, each a valid id; else None."""
    texts = []
    for _ in range(count):
        if not rest or len(rest) < 1 + rest[0]:
            return None
        text, rest = rest[1:1 + rest[0]].decode("ascii", errors="replace"), rest[1 + rest[0]:]
        if not CARD_ID.fullmatch(text):
            return None
        texts.append(text)
    return texts if not rest else None


def read_member_token(payload: bytes, public_key: Ed25519PublicKey) -> Token | Refused:
    """A token's fields once head office's signature over them verifies (head office checks a token a
    kiosk journaled with this; the chip it was read from is no longer there to compare)."""
    body, signature = payload[:-SIGNATURE_LEN], payload[-SIGNATURE_LEN:]
    if len(body) < 7 or body[0] not in DOMAINS:
        return Refused(MALFORMED, "member token: unknown version or too short")
    version, issued_at, uid_len = struct.unpack(">BIB", body[:6])
    bound_uid = body[6:6 + uid_len]
    texts = _texts(body[6 + uid_len:], version) if len(bound_uid) == uid_len else None
    if texts is None:
        return Refused(MALFORMED, "member token: field lengths do not add up, or a bad id")
    try:
        public_key.verify(signature, DOMAINS[version] + body)
    except InvalidSignature:
        return Refused(BAD_SIGNATURE, "member token: signature does not verify")
    return Token(version, issued_at, bound_uid, texts[0], texts[1] if version == 2 else None)


def verify_member_token(payload: bytes, public_key: Ed25519PublicKey, uid: bytes) -> MemberCard | Refused:
    """Check a token record's payload against head office's key and the tapped chip's UID."""
    token = read_member_token(payload, public_key)
    if isinstance(token, Refused):
        return token
    if token.uid and token.uid != uid:
        return Refused(BAD_SIGNATURE, "member token was copied from another card (UID mismatch)")
    return MemberCard(card_id=token.card_id, kind="token", secure=True, issued_at=token.issued_at,
                      member_id=token.member_id, token=payload.hex() if token.member_id else None)
