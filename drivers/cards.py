"""What a tapped card means: a bare UID, a signed member token, or an NTAG 424 DNA SUN message.

Each format is accepted only when enabled in config ([cards] accept_uid / accept_token /
accept_sun). A card that carries a token or SUN URL that fails verification is refused, never
accepted by its bare UID instead: a failed signature is a sign of tampering.
"""
from __future__ import annotations

import hmac
import logging
import re
from urllib.parse import parse_qs

import ndef
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from drivers import sun
from drivers.tokens import find_token, verify_member_token
from drivers.verdict import BAD_SIGNATURE, MALFORMED, NO_KEY, NOT_ACCEPTED, REPLAYED, MemberCard, Refused

log = logging.getLogger(__name__)

SUN_DATA_PARAMS = ("picc_data", "e")
SUN_MAC_PARAMS = ("cmac", "c")


def _hex_key(name: str, text: str, length: int) -> bytes | None:
    if not text:
        return None
    if not re.fullmatch(r"[0-9a-fA-F]{%d}" % (2 * length), text):
        raise ValueError(f"[cards] {name} must be {2 * length} hex digits")
    return bytes.fromhex(text)


def _decode(octets: bytes) -> list:
    try:
        return list(ndef.message_decoder(octets, errors="relax"))
    except Exception:  # noqa: BLE001 - ndeflib raises several kinds on corrupt input; all mean "unreadable"
        return []


def _sun_params(records: list) -> tuple[str, str] | None:
    """(PICCData hex, MAC hex) from the first URI record carrying SUN parameters."""
    for record in records:
        if isinstance(record, ndef.UriRecord):
            # Only the query matters; urlsplit would raise on a mangled host such as "[".
            query = parse_qs(record.iri.partition("?")[2].partition("#")[0])
            data = next((query[p][0] for p in SUN_DATA_PARAMS if p in query), None)
            mac = next((query[p][0] for p in SUN_MAC_PARAMS if p in query), None)
            if data is not None and mac is not None:
                return data, mac
    return None


def config_problems(cards: dict) -> list[str]:
    """What in a [cards] section makes the kiosk refuse cards it is meant to accept."""
    problems = []
    for name, key, length in (("token_public_key", "accept_token", 32), ("sun_master_key", "accept_sun", 16)):
        try:
            present = _hex_key(name, cards.get(name, ""), length) is not None
        except ValueError as exc:
            problems.append(str(exc))
            continue
        if cards.get(key, key == "accept_token") and not present:
            problems.append(f"[cards] {key} = true but {name} is empty: every such card would be refused")
    if not any(cards.get(k, k == "accept_token") for k in ("accept_uid", "accept_token", "accept_sun")):
        problems.append("[cards] accepts no kind of card (accept_uid, accept_token and accept_sun are all false)")
    return problems


class CardVerifier:
    """Turns (UID, NDEF) from a `CardPresented` into a `MemberCard` or a `Refused`; never raises."""

    def __init__(self, accept_uid: bool = False, accept_token: bool = True, accept_sun: bool = False,
                 token_public_key: bytes | None = None, sun_master_key: bytes | None = None,
                 counters: sun.CounterStore | None = None):
        self.accept_uid, self.accept_token, self.accept_sun = accept_uid, accept_token, accept_sun
        self.token_key = Ed25519PublicKey.from_public_bytes(token_public_key) if token_public_key else None
        self.sun_master = sun_master_key
        self.sun_meta_key = sun.meta_read_key(sun_master_key) if sun_master_key else None
        self.counters = counters if counters is not None else sun.MemoryCounterStore()

    @classmethod
    def from_config(cls, cards: dict, counters: sun.CounterStore | None = None) -> "CardVerifier":
        """From the [cards] config section; a malformed key is a ValueError naming it."""
        return cls(accept_uid=cards.get("accept_uid", False), accept_token=cards.get("accept_token", True),
                   accept_sun=cards.get("accept_sun", False),
                   token_public_key=_hex_key("token_public_key", cards.get("token_public_key", ""), 32),
                   sun_master_key=_hex_key("sun_master_key", cards.get("sun_master_key", ""), 16),
                   counters=counters)

    def check(self, uid: bytes, ndef_octets: bytes | None) -> MemberCard | Refused:
        result = self._check(bytes(uid or b""), ndef_octets)
        if isinstance(result, Refused):
            log.info("card refused (%s): %s", result.reason, result.detail)
        return result

    def _check(self, uid: bytes, octets: bytes | None) -> MemberCard | Refused:
        records = _decode(bytes(octets)) if octets else []
        token = find_token(records)
        if token is not None:
            if not self.accept_token:
                return Refused(NOT_ACCEPTED, "signed member tokens are not accepted here")
            if self.token_key is None:
                return Refused(NO_KEY, "no [cards] token_public_key configured")
            return verify_member_token(token, self.token_key, uid)
        params = _sun_params(records)
        if params is not None:
            if not self.accept_sun:
                return Refused(NOT_ACCEPTED, "NTAG 424 DNA cards are not accepted here")
            if self.sun_master is None:
                return Refused(NO_KEY, "no [cards] sun_master_key configured")
            return self._check_sun(*params)
        if not uid:
            return Refused(MALFORMED, "the card has no UID")
        if not self.accept_uid:
            return Refused(NOT_ACCEPTED, "bare-UID cards are not accepted here")
        return MemberCard(card_id=uid.hex().upper(), kind="uid", secure=False)

    def _check_sun(self, data_hex: str, mac_hex: str) -> MemberCard | Refused:
        if not re.fullmatch(r"[0-9a-fA-F]{32}", data_hex) or not re.fullmatch(r"[0-9a-fA-F]{16}", mac_hex):
            return Refused(MALFORMED, "SUN message: PICCData must be 32 hex digits and the MAC 16")
        tag, card_uid, counter = sun.decrypt_picc_data(self.sun_meta_key, bytes.fromhex(data_hex))
        # The MAC is computed even for a bad tag byte, so timing does not tell which check failed.
        expected = sun.sdm_mac(sun.file_read_key(self.sun_master, card_uid), card_uid, counter)
        if tag != sun.PICC_DATA_TAG or not hmac.compare_digest(expected, bytes.fromhex(mac_hex)):
            return Refused(BAD_SIGNATURE, "SUN message: MAC does not verify")
        if not self.counters.advance(card_uid, counter):
            return Refused(REPLAYED, f"SUN message: read counter {counter} was already seen for this card")
        return MemberCard(card_id=card_uid.hex().upper(), kind="sun", secure=True, counter=counter)


def make_sun_message(master_key: bytes, uid: bytes, counter: int, url: str = "https://m.example.com/c") -> bytes:
    """The NDEF message an NTAG 424 DNA configured by us would return (tests, demo, sim)."""
    data = sun.encrypt_picc_data(sun.meta_read_key(master_key), uid, counter)
    mac = sun.sdm_mac(sun.file_read_key(master_key, uid), uid, counter)
    record = ndef.UriRecord(f"{url}?picc_data={data.hex().upper()}&cmac={mac.hex().upper()}")
    return b"".join(ndef.message_encoder([record]))
