"""Ed25519 signatures on head-office messages, so a kiosk only obeys head office.

The signature covers the canonical JSON of the whole envelope without its ``sig`` field (see
:func:`canonical` and docs/protocol.md), so any change to type, body, time or sender breaks it.
A kiosk trusts every public key in its key file: during a rotation that file holds head office's
current key and the next one, so head office can switch keys without a flag day.
"""
from __future__ import annotations

import base64
import json
import os
import re
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def canonical(envelope: dict) -> bytes:
    """The bytes that are signed: the envelope without ``sig`` as JSON with keys sorted by code point,
    no whitespace (``,`` and ``:``), non-ASCII characters as UTF-8 (never ``\\u`` escapes), integers only."""
    unsigned = {k: v for k, v in envelope.items() if k != "sig"}
    return json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class Signer:
    def __init__(self, key: Ed25519PrivateKey):
        self._key = key

    @classmethod
    def load(cls, path: str | Path) -> "Signer":
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        return cls(key)

    def sign(self, envelope: dict) -> dict:
        envelope["sig"] = base64.b64encode(self._key.sign(canonical(envelope))).decode()
        return envelope

    def public_pem(self) -> bytes:
        return self._key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)


class Verifier:
    def __init__(self, *keys: Ed25519PublicKey):
        if not keys:
            raise ValueError("no head-office public key")
        self._keys = keys

    @classmethod
    def load(cls, path: str | Path) -> "Verifier":
        """Every PEM public key in the file (current first, then the next one during a rotation)."""
        text = Path(path).read_bytes()
        blocks = re.findall(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", text, re.S)
        keys = [serialization.load_pem_public_key(block) for block in blocks]
        if not keys or not all(isinstance(k, Ed25519PublicKey) for k in keys):
            raise ValueError(f"{path} does not hold Ed25519 public keys (PEM)")
        return cls(*keys)

    def check(self, envelope: dict) -> str | None:
        """None when one of the trusted keys made the signature, else why not."""
        sig = envelope.get("sig")
        if not isinstance(sig, str):
            return "unsigned"
        try:
            signature, message = base64.b64decode(sig, validate=True), canonical(envelope)
        except ValueError:
            return "bad signature"
        for key in self._keys:
            try:
                key.verify(signature, message)
                return None
            except InvalidSignature:
                continue
        return "bad signature"


def generate(private_path: str | Path, public_path: str | Path) -> Signer:
    """Write a new head-office key pair (private key readable by its owner only)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    signer = Signer(key)
    Path(public_path).write_bytes(signer.public_pem())
    return signer
