"""Member QR codes, POS receipts, coupons and product barcodes: accepted, or refused with a reason."""
import pytest

from drivers.codes import (CodeVerifier, CouponCode, MemberQR, ProductCode, ReceiptCode, make_coupon_code,
                           make_gtin, make_member_qr, make_receipt_code, member_qr_key)
from drivers.codes.qr import STEP_S
from drivers.verdict import BAD_SIGNATURE, BUSY, EXPIRED, MALFORMED, NO_KEY, REPLAYED, UNKNOWN, mac_text

QR, RECEIPT, COUPON = b"qr-secret", b"receipt-secret", b"coupon-secret"
T0 = 1_750_000_000.0


class Clock:
    def __init__(self, now=T0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def codes(clock):
    return CodeVerifier(QR, RECEIPT, COUPON, clock=clock)


def test_a_fresh_member_qr_code_is_accepted_once(codes):
    code = make_member_qr(QR, "M1001", T0)
    assert codes.check(code) == MemberQR(member_id="M1001", step=int(T0 // STEP_S))
    assert codes.check(code).reason == REPLAYED


def test_member_qr_codes_allow_one_step_of_clock_skew_and_no_more(codes):
    assert isinstance(codes.check(make_member_qr(QR, "M1", T0 - STEP_S)), MemberQR)
    assert isinstance(codes.check(make_member_qr(QR, "M1", T0 + STEP_S)), MemberQR)
    assert codes.check(make_member_qr(QR, "M1", T0 - 2 * STEP_S)).reason == EXPIRED
    assert codes.check(make_member_qr(QR, "M1", T0 + 2 * STEP_S)).reason == EXPIRED


def test_a_phone_can_only_make_codes_for_its_own_member(codes):
    phone_key = member_qr_key(QR, "M1")
    step = int(T0 // STEP_S)
    impostor = f"KM1:M2:{step}:{mac_text(phone_key, f'KM1:M2:{step}')}"
    assert codes.check(impostor).reason == BAD_SIGNATURE
    own = f"KM1:M1:{step}:{mac_text(phone_key, f'KM1:M1:{step}')}"
    assert codes.check(own).member_id == "M1"


def test_replay_memory_is_bounded_and_forgets_expired_codes(clock):
    codes = CodeVerifier(QR, clock=clock, replay_capacity=3)
    for member in ("A", "B", "C"):
        assert isinstance(codes.check(make_member_qr(QR, member, T0)), MemberQR)
    assert codes.check(make_member_qr(QR, "D", T0)).reason == BUSY     # full: refuse rather than forget
    clock.now = T0 + 3 * STEP_S                                          # the old ones can no longer be valid
    assert isinstance(codes.check(make_member_qr(QR, "D", clock.now)), MemberQR)
    assert len(codes.replay) == 1


def test_a_pos_receipt_is_accepted_with_its_amount(codes):
    code = make_receipt_code(RECEIPT, "store-01", "POS2-000123", 12_345, int(T0) - 600)
    assert codes.check(code) == ReceiptCode(store_id="store-01", pos_txn="POS2-000123", amount_fen=12_345,
                                            issued_at=int(T0) - 600)


def test_a_receipt_with_a_changed_amount_is_refused(codes):
    code = make_receipt_code(RECEIPT, "store-01", "T9", 500, int(T0))
    assert codes.check(code.replace(":500:", ":50000:")).reason == BAD_SIGNATURE


def test_receipts_too_old_or_from_the_future_are_refused(codes):
    assert codes.check(make_receipt_code(RECEIPT, "s1", "T1", 100, int(T0) - 31 * 86400)).reason == EXPIRED
    assert codes.check(make_receipt_code(RECEIPT, "s1", "T2", 100, int(T0) + 3600)).reason == EXPIRED


def test_a_coupon_is_accepted_and_an_invented_serial_refused(codes):
    code = make_coupon_code(COUPON, "SPRING25", 17)
    assert codes.check(code) == CouponCode(campaign="SPRING25", serial=17)
    assert codes.check(code.replace(":17:", ":18:")).reason == BAD_SIGNATURE


def test_product_and_gift_barcodes_by_check_digit(codes):
    assert codes.check("4006381333931") == ProductCode(gtin="4006381333931", symbology="EAN-13")
    assert codes.check("036000291452") == ProductCode(gtin="0036000291452", symbology="UPC-A")
    assert codes.check("4006381333932").reason == MALFORMED
    assert codes.check(make_gtin("69012345678")).symbology == "UPC-A"
    assert codes.check(b"  6901234567892\r\n").symbology == "EAN-13"


def test_codes_from_another_secret_or_unknown_kinds_are_refused(codes):
    assert codes.check(make_member_qr(b"other", "M1", T0)).reason == BAD_SIGNATURE
    assert codes.check(make_coupon_code(RECEIPT, "X", 1)).reason == BAD_SIGNATURE
    assert codes.check("https://example.com").reason == UNKNOWN
    assert codes.check("KR1:store:only-three").reason == MALFORMED
    assert codes.check("").reason == UNKNOWN


def test_a_kind_without_its_secret_configured_is_refused_as_such(clock):
    codes = CodeVerifier.from_config({"qr_secret": "", "receipt_secret": "r", "coupon_secret": ""})
    assert codes.check(make_member_qr(QR, "M1", T0)).reason == NO_KEY
    assert codes.check(make_coupon_code(COUPON, "X", 1)).reason == NO_KEY


def test_makers_refuse_values_the_verifier_would_not_read():
    with pytest.raises(ValueError):
        make_receipt_code(RECEIPT, "store:01", "T1", 100, int(T0))
    with pytest.raises(ValueError):
        make_receipt_code(RECEIPT, "s1", "T1", 0, int(T0))
    with pytest.raises(ValueError):
        make_coupon_code(COUPON, "lower", 1)
