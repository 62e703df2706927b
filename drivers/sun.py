"""NTAG 424 DNA Secure Unique NFC (SUN) messages: AES PICCData, truncated AES-CMAC, read counter.

Each tap of an NTAG 424 DNA card yields a new URL carrying the encrypted UID and read counter
(``e=`` / ``picc_data=``) and a MAC (``c=`` / ``cmac=``) that only the card and the key holder
can make; a copied URL is stale once the counter moves on. Algorithms and test vectors follow
NXP AN12196 (SUN) and AN10922 (key diversification); keys here come from one master key.
"""
from __future__ import annotations

import os
import threading
from typing import Protocol

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PICC_DATA_TAG = 0xC7          # UID mirrored + read counter mirrored, 7-byte UID
SV2_PREFIX = bytes.fromhex("3CC300010080")


def _aes_ecb(key: bytes, block: bytes, decrypt: bool = False) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.ECB())
    op = cipher.decryptor() if decrypt else cipher.encryptor()
    return op.update(block) + op.finalize()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    mac = cmac.CMAC(algorithms.AES(key))
    mac.update(data)
    return mac.finalize()


def _shift(block: bytes) -> bytes:
    value = int.from_bytes(block, "big") << 1
    if block[0] & 0x80:
        value ^= 0x87
    return (value & (1 << 128) - 1).to_bytes(16, "big")


def diversify(master_key: bytes, data: bytes) -> bytes:
    """AN10922 AES-128 key diversification: CMAC over 0x01 || data, padded to 32 bytes."""
    if not 1 <= len(data) <= 31:
        raise ValueError("diversification input must be 1 to 31 bytes")
    k1 = _shift(_aes_ecb(master_key, bytes(16)))
    k2 = _shift(k1)
    message = b"\x01" + data
    if len(message) < 32:
        message += b"\x80" + bytes(31 - len(message))
        subkey = k2
    else:
        subkey = k1
    last = bytes(a ^ b for a, b in zip(message[16:], subkey))
    first = _aes_ecb(master_key, message[:16])
    return _aes_ecb(master_key, bytes(a ^ b for a, b in zip(first, last)))


def meta_read_key(master_key: bytes) -> bytes:
    """SDMMetaReadKey: the same for every card (the UID is only known after decrypting)."""
    return diversify(master_key, b"SDMMetaReadKey")


def file_read_key(master_key: bytes, uid: bytes) -> bytes:
    """SDMFileReadKey: per card, so one card's key cannot make another card's MACs."""
    return diversify(master_key, uid + b"SDMFileReadKey")


def decrypt_picc_data(meta_key: bytes, picc_data: bytes) -> tuple[int, bytes, int]:
    """(PICCDataTag, UID, read counter) from the 16-byte encrypted PICCData (AES-CBC, zero IV)."""
    plain = _aes_ecb(meta_key, picc_data, decrypt=True)
    return plain[0], plain[1:8], int.from_bytes(plain[8:11], "little")


def encrypt_picc_data(meta_key: bytes, uid: bytes, counter: int, rand: bytes | None = None) -> bytes:
    """What the card does (for tests and the simulator): tag, UID, counter, random padding."""
    rand = os.urandom(5) if rand is None else rand
    return _aes_ecb(meta_key, bytes([PICC_DATA_TAG]) + uid + counter.to_bytes(3, "little") + rand)


def session_mac_key(file_key: bytes, uid: bytes, counter: int) -> bytes:
    """KSesSDMFileReadMAC = CMAC(SDMFileReadKey, SV2), SV2 = 3CC300010080 || UID || counter."""
    return aes_cmac(file_key, SV2_PREFIX + uid + counter.to_bytes(3, "little"))


def sdm_mac(file_key: bytes, uid: bytes, counter: int, mac_input: bytes = b"") -> bytes:
    """The 8-byte SDMMAC: the odd-numbered bytes of CMAC(session key, MAC input)."""
    return aes_cmac(session_mac_key(file_key, uid, counter), mac_input)[1::2]


class CounterStore(Protocol):
    """Remembers the highest read counter accepted per card (the ledger will back one)."""

    def advance(self, uid: bytes, counter: int) -> bool:
        """Record *counter* and return True only if it is greater than the last one for *uid*."""


class MemoryCounterStore:
    """In-process counter store; forgets on restart, so use a persistent one in production."""

    def __init__(self) -> None:
        self._last: dict[bytes, int] = {}
        self._lock = threading.Lock()

    def advance(self, uid: bytes, counter: int) -> bool:
        with self._lock:
            if counter <= self._last.get(uid, -1):
                return False
            self._last[uid] = counter
            return True
