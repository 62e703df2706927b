"""Signed NDEF member tokens: head office's Ed25519 signature over a card id, issue time and chip UID.

A bare UID can be forged by anyone with a writable-UID card; a token cannot be minted without
head office's private key, and binding it to the chip's UID means copying the NDEF message to
another card fails too. Format (docs/hardware.md): one NFC Forum external record
``loyalty.kiosk:member`` whose payload is

    version=1 (1 byte) | issued_at (uint32 BE) | uid_len (1) | uid | id_len (1) | card_id (ASCII) | signature (64)

signed over ``b"loyalty.kiosk:member/1\\0"`` + everything before the signature.
"""
from __future__ import annotations

import re
import struct

import ndef
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from drivers.verdict import BAD_SIGNATURE, MALFORMED, MemberCard, Refused

RECORD_TYPE = "urn:nfc:ext:loyalty.kiosk:member"
VERSION = 1
DOMAIN = b"loyalty.kiosk:member/1\x00"
CARD_ID = re.compile(r"[0-9A-Za-z-]{1,32}")
SIGNATURE_LEN = 64


def make_member_token(private_key: Ed25519PrivateKey, card_id: str, issued_at: int, uid: bytes = b"") -> bytes:
    """The NDEF message to write on a card (head office's issuing tool and the tests use this)."""
    if not CARD_ID.fullmatch(card_id):
        raise ValueError("card_id must be 1-32 letters, digits or '-'")
    if len(uid) > 10 or not 0 <= issued_at < 2**32:
        raise ValueError("uid must be at most 10 bytes and issued_at a uint32")
    body = struct.pack(">BIB", VERSION, issued_at, len(uid)) + uid + bytes([len(card_id)]) + card_id.encode()
    payload = body + private_key.sign(DOMAIN + body)
    return b"".join(ndef.message_encoder([ndef.Record(RECORD_TYPE, "", payload)]))


def find_token(records: list) -> bytes | None:
    """The payload of the first member-token record, if the message has one."""
    for record in records:
        if record.type == RECORD_TYPE:
            return bytes(record.data)
    return None


def verify_member_token(payload: bytes, public_key: Ed25519PublicKey, uid: bytes) -> MemberCard | Refused:
    """Check a token record's payload against head office's key and the tapped chip's UID."""
    body, signature = payload[:-SIGNATURE_LEN], payload[-SIGNATURE_LEN:]
    if len(body) < 7 or body[0] != VERSION:
        return Refused(MALFORMED, "member token: unknown version or too short")
    issued_at, uid_len = struct.unpack(">IB", body[1:6])
    bound_uid = body[6:6 + uid_len]
    rest = body[6 + uid_len:]
    if len(bound_uid) != uid_len or not rest or len(rest) != 1 + rest[0]:
        return Refused(MALFORMED, "member token: field lengths do not add up")
    card_id = rest[1:].decode("ascii", errors="replace")
    if not CARD_ID.fullmatch(card_id):
        return Refused(MALFORMED, "member token: bad card id")
    try:
        public_key.verify(signature, DOMAIN + body)
    except InvalidSignature:
        return Refused(BAD_SIGNATURE, "member token: signature does not verify")
    if bound_uid and bound_uid != uid:
        return Refused(BAD_SIGNATURE, "member token was copied from another card (UID mismatch)")
    return MemberCard(card_id=card_id, kind="token", secure=True, issued_at=issued_at)
