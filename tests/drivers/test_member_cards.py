"""Which cards are members: signed tokens, bare UIDs (only when allowed), and what is refused."""
import ndef
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from drivers.cards import CardVerifier
from drivers.tokens import DOMAINS, SIGNATURE_LEN, find_token, make_member_token
from drivers.verdict import BAD_SIGNATURE, MALFORMED, NO_KEY, NOT_ACCEPTED, MemberCard, Refused

HEAD_OFFICE = Ed25519PrivateKey.generate()
PUBLIC_HEX = HEAD_OFFICE.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
UID = bytes.fromhex("04A1B2C3D4E5F6")
NOW = 1_790_000_000          # the tokens' issue time (2026-09-21): pinned, nothing reads the clock


@pytest.fixture
def verifier():
    return CardVerifier.from_config({"accept_uid": False, "accept_token": True, "accept_sun": False,
                                     "token_public_key": PUBLIC_HEX, "sun_master_key": ""})


def test_a_token_issued_for_this_chip_is_a_secure_member_card(verifier):
    result = verifier.check(UID, make_member_token(HEAD_OFFICE, "C-1001", NOW, uid=UID))
    assert result == MemberCard(card_id="C-1001", kind="token", secure=True, issued_at=NOW)


def test_a_token_not_bound_to_a_chip_is_accepted_on_any_chip(verifier):
    assert verifier.check(b"\x01\x02\x03\x04", make_member_token(HEAD_OFFICE, "C-7", NOW)).card_id == "C-7"


def test_a_token_copied_onto_another_chip_is_refused(verifier):
    copied = make_member_token(HEAD_OFFICE, "C-1001", NOW, uid=UID)
    assert verifier.check(bytes.fromhex("04000000000000"), copied).reason == BAD_SIGNATURE


def test_a_token_not_signed_by_head_office_is_refused(verifier):
    forged = make_member_token(Ed25519PrivateKey.generate(), "C-1001", NOW, uid=UID)
    assert verifier.check(UID, forged).reason == BAD_SIGNATURE


def test_a_token_with_a_flipped_bit_is_refused_not_crashed(verifier):
    token = bytearray(make_member_token(HEAD_OFFICE, "C-1001", NOW, uid=UID))
    for i in range(len(token)):
        damaged = bytearray(token)
        damaged[i] ^= 0x01
        result = verifier.check(UID, bytes(damaged))
        assert isinstance(result, Refused), f"byte {i} flipped was accepted"


def test_a_blank_card_is_refused_unless_bare_uids_are_allowed(verifier):
    assert verifier.check(UID, None).reason == NOT_ACCEPTED
    legacy = CardVerifier(accept_uid=True)
    assert legacy.check(UID, None) == MemberCard(card_id="04A1B2C3D4E5F6", kind="uid", secure=False)
    text = b"".join(ndef.message_encoder([ndef.TextRecord("hello")]))
    assert legacy.check(UID, text).kind == "uid"


def test_a_bad_token_is_not_accepted_by_its_bare_uid_instead():
    lenient = CardVerifier(accept_uid=True, token_public_key=bytes.fromhex(PUBLIC_HEX))
    forged = make_member_token(Ed25519PrivateKey.generate(), "C-1001", NOW, uid=UID)
    assert lenient.check(UID, forged).reason == BAD_SIGNATURE


def test_tokens_only_when_enabled_and_keyed():
    token = make_member_token(HEAD_OFFICE, "C-1", NOW)
    assert CardVerifier(accept_token=False, accept_uid=True).check(UID, token).reason == NOT_ACCEPTED
    assert CardVerifier(accept_token=True).check(UID, token).reason == NO_KEY


def test_a_card_with_no_uid_and_no_payload_is_malformed():
    assert CardVerifier(accept_uid=True).check(b"", None).reason == MALFORMED


@pytest.mark.parametrize("key, value", [("token_public_key", "abcd"), ("sun_master_key", "zz" * 16)])
def test_a_malformed_key_in_config_names_the_key(key, value):
    with pytest.raises(ValueError, match=key):
        CardVerifier.from_config({key: value})


def test_the_issuing_side_rejects_what_could_not_be_verified():
    with pytest.raises(ValueError):
        make_member_token(HEAD_OFFICE, "has space", NOW)
    with pytest.raises(ValueError):
        make_member_token(HEAD_OFFICE, "C-1", NOW, uid=bytes(11))


def _payload(message: bytes) -> bytes:
    return find_token(list(ndef.message_decoder(message)))


def test_a_version_2_token_names_the_member_and_carries_itself_as_proof(verifier):
    message = make_member_token(HEAD_OFFICE, "C-1001", NOW, uid=UID, member_id="M42")
    result = verifier.check(UID, message)
    assert (result.card_id, result.member_id, result.kind, result.secure) == ("C-1001", "M42", "token", True)
    assert result.token == _payload(message).hex()
    assert verifier.check(UID, make_member_token(HEAD_OFFICE, "C-1001", NOW, uid=UID)).member_id is None


def test_a_version_2_token_copied_forged_or_signed_for_version_1_is_refused(verifier):
    genuine = make_member_token(HEAD_OFFICE, "C-1001", NOW, uid=UID, member_id="M42")
    assert verifier.check(bytes.fromhex("04000000000000"), genuine).reason == BAD_SIGNATURE
    forged = make_member_token(Ed25519PrivateKey.generate(), "C-1001", NOW, uid=UID, member_id="M42")
    assert verifier.check(UID, forged).reason == BAD_SIGNATURE
    body = _payload(genuine)[:-SIGNATURE_LEN]       # the same fields signed under version 1's domain
    wrong_domain = body + HEAD_OFFICE.sign(DOMAINS[1] + body)
    message = b"".join(ndef.message_encoder([ndef.Record("urn:nfc:ext:loyalty.kiosk:member", "", wrong_domain)]))
    assert verifier.check(UID, message).reason == BAD_SIGNATURE


@pytest.mark.parametrize("damage", ["member id missing", "trailing byte", "bad member id", "unknown version"])
def test_a_malformed_version_2_token_is_refused_as_malformed(verifier, damage):
    body = _payload(make_member_token(HEAD_OFFICE, "C-1", NOW, uid=UID, member_id="M42"))[:-SIGNATURE_LEN]
    body = {"member id missing": body[:-4], "trailing byte": body + b"x",
            "bad member id": body[:-3] + b"M 2", "unknown version": b"\x03" + body[1:]}[damage]
    payload = body + HEAD_OFFICE.sign(DOMAINS.get(body[0], DOMAINS[2]) + body)
    message = b"".join(ndef.message_encoder([ndef.Record("urn:nfc:ext:loyalty.kiosk:member", "", payload)]))
    assert verifier.check(UID, message).reason == MALFORMED
