"""The real nfcpy stack: a Type 3 tag emulated in another process over nfcpy's UDP link."""
import ndef
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from drivers import open_device
from drivers.cards import CardVerifier
from drivers.events import CardPresented, CardRemoved, DeviceLost
from drivers.tokens import make_member_token
from drivers.udpcard import UdpCard
from drivers.verdict import MemberCard

HEAD_OFFICE = Ed25519PrivateKey.generate()
PUBLIC = HEAD_OFFICE.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
IDM = "03FEFFE0A1B2C3D4"
ISSUED_AT = 1_790_000_000      # the tokens' issue time: pinned, nothing reads the clock


@pytest.fixture
def reader(events, udp_port):
    device = open_device(f"nfc:udp:127.0.0.1:{udp_port}", events)
    device.start()
    yield device
    device.stop()


def test_a_tap_reads_uid_and_ndef_once_while_the_card_stays(reader, udp_port, expect, quiet):
    token = make_member_token(HEAD_OFFICE, "C-000042", ISSUED_AT, uid=bytes.fromhex(IDM))
    with UdpCard(udp_port, token, idm=IDM) as card:
        card.present()
        tap = expect(CardPresented, timeout=10)
        assert tap.uid == bytes.fromhex(IDM)
        assert tap.ndef == token
        assert tap.tag_type == "Type3Tag"
        assert reader.state == "ok"
        quiet(2.5)                      # the card lies on the reader: no second read
        card.remove()
        assert expect(CardRemoved, timeout=10).uid == bytes.fromhex(IDM)
    # What the UI does with the tap: a verified member card.
    result = CardVerifier(token_public_key=PUBLIC).check(tap.uid, tap.ndef)
    assert result == MemberCard(card_id="C-000042", kind="token", secure=True, issued_at=result.issued_at)


def test_a_version_2_token_read_over_nfcpy_names_its_member(reader, udp_port, expect):
    token = make_member_token(HEAD_OFFICE, "C-000043", ISSUED_AT, uid=bytes.fromhex(IDM), member_id="M000043")
    with UdpCard(udp_port, token, idm=IDM) as card:
        card.present()
        tap = expect(CardPresented, timeout=10)
        card.remove()
    result = CardVerifier(token_public_key=PUBLIC).check(tap.uid, tap.ndef)
    assert (result.card_id, result.member_id, result.secure) == ("C-000043", "M000043", True)
    assert CardVerifier(token_public_key=PUBLIC).check(bytes.fromhex("03FEFFE000000000"), tap.ndef).reason \
        == "bad-signature"


def test_each_tap_is_reported_again(reader, udp_port, expect):
    text = b"".join(ndef.message_encoder([ndef.TextRecord("hello")]))
    for _ in range(2):
        with UdpCard(udp_port, text) as card:
            card.present()
            assert expect(CardPresented, timeout=10).ndef == text
        expect(CardRemoved, timeout=10)


@pytest.mark.parametrize("url", ["nfc:usb", "nfc:usb:054c:06c3", "nfc:tty:USB9:pn532"])
def test_a_reader_missing_at_start_is_a_degraded_state(url, events, expect):
    device = open_device(url, events)
    device.start()
    lost = expect(DeviceLost)
    assert lost.reason in ("missing", "library missing")
    assert device.state == lost.reason
    assert device.detail
    device.stop()
