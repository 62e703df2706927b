"""NTAG 424 DNA SUN: NXP's published worked examples, then whole taps through CardVerifier."""
import ndef
import pytest

from drivers import sun
from drivers.cards import CardVerifier, make_sun_message
from drivers.verdict import BAD_SIGNATURE, NO_KEY, NOT_ACCEPTED, REPLAYED, MemberCard, Refused

ZERO = bytes(16)
MASTER = bytes.fromhex("00112233445566778899AABBCCDDEEFF")
CARD = bytes.fromhex("04C24EDA926980")


def test_an12196_picc_data_decryption_with_the_zero_key():
    # AN12196 "SUN message" example: https://ntag.nxp.com/424?e=EF963FF7828658A599F3041510671E88&c=94EED9EE65337086
    tag, uid, counter = sun.decrypt_picc_data(ZERO, bytes.fromhex("EF963FF7828658A599F3041510671E88"))
    assert (tag, uid.hex().upper(), counter) == (0xC7, "04DE5F1EACC040", 61)


def test_an12196_sdmmac_with_empty_mac_input():
    uid = bytes.fromhex("04DE5F1EACC040")
    assert sun.session_mac_key(ZERO, uid, 61).hex().upper() == "3FB5F6E3A807A03D5E3570ACE393776F"
    assert sun.aes_cmac(sun.session_mac_key(ZERO, uid, 61), b"").hex().upper() == "E194C7EE12D9F7EE8A65C8331B704386"
    assert sun.sdm_mac(ZERO, uid, 61).hex().upper() == "94EED9EE65337086"


def test_an12196_sdmmac_over_encrypted_file_data():
    # ?picc_data=FD91EC264309878BE6345CBE53BADF40&enc=CEE9A53E3E463EF1F459635736738962&cmac=ECC1E7F6C6C73BF6
    tag, uid, counter = sun.decrypt_picc_data(ZERO, bytes.fromhex("FD91EC264309878BE6345CBE53BADF40"))
    assert (uid.hex().upper(), counter) == ("04958CAA5C5E80", 8)
    mac_input = b"CEE9A53E3E463EF1F459635736738962&cmac="
    assert sun.sdm_mac(ZERO, uid, counter, mac_input).hex().upper() == "ECC1E7F6C6C73BF6"


def test_an12196_plain_mirror_mac():
    assert sun.sdm_mac(ZERO, bytes.fromhex("041E3C8A2D6B80"), 6).hex().upper() == "4B00064004B0B3D3"


def test_an10922_aes128_key_diversification():
    m = bytes.fromhex("04782E21801D80" "3042F5" "4E585020416275")       # UID, AID, system identifier
    assert sun.diversify(MASTER, m).hex().upper() == "A8DD63A3B89D54B37CA802473FDA9175"


def test_per_card_keys_differ_and_the_meta_key_is_shared():
    assert sun.file_read_key(MASTER, CARD) != sun.file_read_key(MASTER, bytes.fromhex("04C24EDA926981"))
    assert len(sun.meta_read_key(MASTER)) == 16


@pytest.fixture
def verifier():
    return CardVerifier(accept_token=False, accept_sun=True, sun_master_key=MASTER)


def test_a_fresh_sun_tap_is_a_secure_member_card(verifier):
    result = verifier.check(b"\x08\x01\x02\x03", make_sun_message(MASTER, CARD, 7))
    assert result == MemberCard(card_id="04C24EDA926980", kind="sun", secure=True, counter=7)


def test_a_replayed_or_older_counter_is_refused(verifier):
    seen = make_sun_message(MASTER, CARD, 10)
    assert isinstance(verifier.check(b"", seen), MemberCard)
    assert verifier.check(b"", seen).reason == REPLAYED
    assert verifier.check(b"", make_sun_message(MASTER, CARD, 9)).reason == REPLAYED
    assert isinstance(verifier.check(b"", make_sun_message(MASTER, CARD, 11)), MemberCard)


def test_a_tampered_mac_or_another_master_key_is_refused(verifier):
    message = make_sun_message(MASTER, CARD, 3)
    record = next(ndef.message_decoder(message))
    forged = record.iri[:-1] + ("0" if record.iri[-1] != "0" else "1")
    assert verifier.check(b"", b"".join(ndef.message_encoder([ndef.UriRecord(forged)]))).reason == BAD_SIGNATURE
    assert verifier.check(b"", make_sun_message(bytes(16), CARD, 4)).reason == BAD_SIGNATURE


def test_the_short_parameter_names_e_and_c_are_read_too(verifier):
    record = next(ndef.message_decoder(make_sun_message(MASTER, CARD, 5)))
    short = record.iri.replace("picc_data=", "e=").replace("cmac=", "c=")
    assert verifier.check(b"", b"".join(ndef.message_encoder([ndef.UriRecord(short)]))).counter == 5


def test_sun_cards_only_when_enabled_and_keyed():
    message = make_sun_message(MASTER, CARD, 1)
    assert CardVerifier(accept_sun=False, sun_master_key=MASTER).check(b"", message).reason == NOT_ACCEPTED
    assert CardVerifier(accept_sun=True).check(b"", message).reason == NO_KEY


def test_the_counter_store_is_pluggable():
    class LedgerCounters:
        def __init__(self):
            self.calls = []

        def advance(self, uid, counter):
            self.calls.append((uid, counter))
            return counter != 13

    store = LedgerCounters()
    verifier = CardVerifier(accept_sun=True, sun_master_key=MASTER, counters=store)
    assert isinstance(verifier.check(b"", make_sun_message(MASTER, CARD, 12)), MemberCard)
    assert isinstance(verifier.check(b"", make_sun_message(MASTER, CARD, 13)), Refused)
    assert store.calls == [(CARD, 12), (CARD, 13)]
