"""Every parser, fed arbitrary input, answers with its result or its documented refusal — nothing else."""
import ndef
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings, strategies as st

from drivers import DeviceUrlError, open_device
from drivers.cards import CardVerifier, make_sun_message
from drivers.codes import CodeVerifier, CouponCode, MemberQR, ProductCode, ReceiptCode, make_coupon_code
from drivers.codes import make_member_qr, make_receipt_code
from drivers.serial_scanner import LineFramer
from drivers.tokens import Token, make_member_token, read_member_token, verify_member_token
from drivers.verdict import MemberCard, Refused

fuzz = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
KEY = Ed25519PrivateKey.generate()
PUBLIC = KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
MASTER = bytes(range(16))
CODES = CodeVerifier(b"q", b"r", b"c", clock=lambda: 1_750_000_000.0)
CARDS = [CardVerifier(accept_uid=u, accept_token=True, accept_sun=True, token_public_key=PUBLIC, sun_master_key=MASTER)
         for u in (False, True)]
CODE_RESULTS = (MemberQR, ReceiptCode, CouponCode, ProductCode, Refused)
VALID_CODES = [make_member_qr(b"q", "M1", 1_750_000_000.0), make_receipt_code(b"r", "s-1", "T1", 99, 1_749_999_000),
               make_coupon_code(b"c", "C1", 5), "4006381333931"]
CODE_ALPHABET = st.sampled_from("KMRC1:0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ2-7._ \r\n\x00é")


def mutate(data, position, replacement):
    position %= len(data)
    return data[:position] + replacement + data[position + 1:]


@fuzz
@given(st.one_of(st.text(), st.binary(), st.text(CODE_ALPHABET), st.from_regex(r"K[MRC]1:[ -~]{0,60}")))
def test_any_scanned_payload_gives_a_result_or_a_refusal(payload):
    assert isinstance(CODES.check(payload), CODE_RESULTS)


@fuzz
@given(st.sampled_from(VALID_CODES), st.integers(0, 200), st.characters(codec="ascii"))
def test_a_code_changed_anywhere_is_refused_or_still_means_the_same(code, position, char):
    changed = mutate(code, position, char)
    result = CodeVerifier(b"q", b"r", b"c", clock=lambda: 1_750_000_000.0).check(changed)
    original = CodeVerifier(b"q", b"r", b"c", clock=lambda: 1_750_000_000.0).check(code)
    assert isinstance(result, Refused) or result == original or changed.strip() == code.strip()


@fuzz
@given(st.binary(max_size=16), st.one_of(st.none(), st.binary(max_size=300)))
def test_any_card_gives_a_member_card_or_a_refusal(uid, octets):
    for verifier in CARDS:
        assert isinstance(verifier.check(uid, octets), (MemberCard, Refused))


@fuzz
@given(st.text(max_size=120))
def test_any_uri_on_a_card_gives_a_member_card_or_a_refusal(iri):
    message = b"".join(ndef.message_encoder([ndef.UriRecord(iri)]))
    for verifier in CARDS:
        assert isinstance(verifier.check(b"\x04" * 7, message), (MemberCard, Refused))


@fuzz
@given(st.integers(0, 200), st.integers(0, 255))
def test_a_damaged_sun_or_token_card_is_refused_never_taken_for_another_card(position, value):
    uid = b"\x04" * 7
    for genuine, card_id in ((make_sun_message(MASTER, uid, 1), uid.hex().upper()),
                             (make_member_token(KEY, "C-1", 1, uid=uid), "C-1"),
                             (make_member_token(KEY, "C-1", 1, uid=uid, member_id="M1"), "C-1")):
        damaged = mutate(genuine, position, bytes([value]))
        result = CardVerifier(accept_uid=False, accept_sun=True, token_public_key=PUBLIC,
                              sun_master_key=MASTER).check(uid, damaged)
        # Damage outside the signed fields (say, the URL's host) may leave the same card readable.
        assert isinstance(result, Refused) or (result.card_id, result.secure) == (card_id, True)
        assert isinstance(result, Refused) or result.member_id in (None, "M1")


@fuzz
@given(st.binary(max_size=200))
def test_any_token_payload_gives_a_member_card_or_a_refusal(payload):
    assert isinstance(verify_member_token(payload, KEY.public_key(), b"\x04" * 7), (MemberCard, Refused))


@fuzz
@given(st.lists(st.binary(max_size=40), max_size=8))
def test_any_serial_byte_stream_gives_text_frames(chunks):
    framer = LineFramer(b"\r\n", idle=0.5, max_length=64)
    for i, chunk in enumerate(chunks):
        assert all(isinstance(text, str) and text for text in framer.feed(chunk, now=i * 0.1))


@fuzz
@given(st.text(max_size=80))
def test_any_device_path_opens_a_driver_or_names_the_problem(text):
    import queue
    try:
        open_device(text, queue.Queue())
    except DeviceUrlError as error:
        assert str(error)


@fuzz
@given(st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(lambda b: b"\x02" + b)))
def test_any_bytes_read_as_a_token_give_its_fields_or_a_refusal(payload):
    assert isinstance(read_member_token(payload, KEY.public_key()), (Token, Refused))
