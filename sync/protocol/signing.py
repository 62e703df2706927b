"""Ed25519 signatures on head-office messages, so a kiosk only obeys head office.

The signature covers the canonical JSON of the whole envelope without its ``sig`` field
(sorted keys, no spaces, UTF-8), so any change to type, body, time or sender breaks it.
"""
from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


def canonical(envelope: dict) -> bytes:
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
    def __init__(self, key: Ed25519PublicKey):
        self._key = key

    @classmethod
    def load(cls, path: str | Path) -> "Verifier":
        key = serialization.load_pem_public_key(Path(path).read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{path} is not an Ed25519 public key")
        return cls(key)

    def check(self, envelope: dict) -> str | None:
        """None when the signature is good, else why not."""
        sig = envelope.get("sig")
        if not isinstance(sig, str):
            return "unsigned"
        try:
            self._key.verify(base64.b64decode(sig, validate=True), canonical(envelope))
        except (InvalidSignature, ValueError):
            return "bad signature"
        return None


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
