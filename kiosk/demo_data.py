"""The demo data set for ``kiosk --simulate``, the scripted demo, the UI tests and the benchmark.

A fresh ledger seeded with members in every interesting state (a birthday this month, points
about to expire, stored value with bonus, coupons, packages, a lost card), three staff cards with
PINs, and blank cards to issue. Cards are signed NDEF member tokens made with a demo key, and
the codes (phone QR, receipts, coupons) use demo secrets; :func:`demo_config` turns them on.
Everything is dated relative to ``now`` so the demo looks the same on any day.
"""
from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from drivers.codes import make_coupon_code, make_gtin, make_member_qr, make_receipt_code
from drivers.tokens import make_member_token
from kiosk.ledger import REFERENCE_RULES, Ledger, lines_from_amount
from kiosk.ledger.clock import from_env
from kiosk.ui.services import GIFT_PICTURES

TOKEN_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"kiosk demo token key").digest())
FORGER_KEY = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"not head office").digest())
SECRETS = {"qr_secret": "demo-qr-secret", "receipt_secret": "demo-receipt-secret",
           "coupon_secret": "demo-coupon-secret"}
BEANS_GTIN = make_gtin("690123456789")
DEMO_PICTURES = Path(__file__).with_name("demo_pictures")      # the mug and the bag have none: an icon shows

DEMO_RULES = REFERENCE_RULES.read_text(encoding="utf-8") + f"""
[[gifts]]
sku = "{BEANS_GTIN}"
name = "Coffee beans 250 g"
name_zh = "咖啡豆 250 克"
points = 1500
stock = 3
picture = "coffee-beans.png"

[[packages]]
code = "COFFEE10"
name = "咖啡十次卡"
name_en = "Coffee, 10 cups"
uses = 10
price = "200.00"
valid_days = 180

[[packages]]
code = "WASH5"
name = "洗车五次卡"
name_en = "Car wash, 5 times"
uses = 5
price = "150.00"
valid_days = 90
"""


@dataclass(frozen=True)
class DemoCard:
    label: str          # what the developer panel shows
    card_id: str
    uid: bytes
    forged: bool = False
    member_id: str | None = None    # a version-2 token (names the member) when set

    @property
    def ndef(self) -> bytes:
        key = FORGER_KEY if self.forged else TOKEN_KEY
        return make_member_token(key, self.card_id, 1_700_000_000, self.uid, member_id=self.member_id)


def _card(label: str, card_id: str, forged: bool = False, member_id: str | None = None) -> DemoCard:
    return DemoCard(label, card_id, bytes.fromhex("04") + hashlib.sha256(card_id.encode()).digest()[:6], forged,
                    member_id)


# The people of both halves of `make demo` (the scripted ledger story and the touchscreen app).
ZHANG_NAME, ZHANG_PHONE = "张三丰", "13800138001"
ALICE_NAME, ALICE_PHONE = "Alice Wang", "13900139002"
ZHANG = _card("张三丰 (birthday, gold path)", "880000000001")
ZHANG_MEMBER_ID = "M0000000000000ZHANG"     # fixed, so the demo phone QR code can name him
ALICE = _card("Alice Wang (stored value, coupon)", "880000000002")
LI = _card("李四 (many points)", "880000000003")
LOST = _card("Lost card", "880000000004")
FORGED = _card("Forged copy of 张三丰", "880000000001", forged=True)
# a member of another store the demo kiosk does not hold: a version-2 token, so a purchase is recorded
# for head office to credit (docs/sync.md, "Deferred earning")
VISITOR = _card("Member of another store (points from head office)", "880000000201", member_id="M0000000000VISITOR")
BLANKS = tuple(_card(f"Blank card {i}", f"88000000010{i}") for i in (1, 2, 3))
CASHIER = _card("Cashier 王芳 (PIN 1234)", "990000000001")
MANAGER = _card("Manager 陈明 (PIN 2468)", "990000000002")
TECHNICIAN = _card("Technician 赵工 (PIN 1357)", "990000000003")
STAFF = ((CASHIER, "cashier01", "王芳", "cashier", "1234"), (MANAGER, "manager01", "陈明", "manager", "2468"),
         (TECHNICIAN, "tech01", "赵工", "technician", "1357"))
MEMBER_CARDS = (ZHANG, ALICE, LI, LOST, FORGED, VISITOR)
ALL_CARDS = MEMBER_CARDS + (CASHIER, MANAGER, TECHNICIAN) + BLANKS


def demo_config() -> dict:
    """The [cards] and [codes] settings the demo cards and codes need."""
    public = TOKEN_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    return {"cards": {"accept_uid": False, "accept_token": True, "accept_sun": False,
                      "token_public_key": public, "sun_master_key": ""},
            "codes": dict(SECRETS)}


def demo_codes(store_id: str, now: float | None = None) -> dict[str, str]:
    """Codes the developer panel can scan, made fresh (a phone QR code is valid for a minute)."""
    now = from_env().now().timestamp() if now is None else now
    qr = make_member_qr(SECRETS["qr_secret"].encode(), ZHANG_MEMBER_ID, now)
    receipt_id = f"POS{int(now * 1000) % 10**9}"
    return {
        "phone_qr": qr,
        "forged_qr": qr[:-4] + ("AAAA" if not qr.endswith("AAAA") else "BBBB"),
        "receipt": make_receipt_code(SECRETS["receipt_secret"].encode(), store_id, receipt_id, 8800, int(now)),
        "coupon": make_coupon_code(SECRETS["coupon_secret"].encode(), "C10", int(now) % 10**6),
        "gift": BEANS_GTIN,
    }


def _at(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def seed(path: str | Path, *, kiosk_id: str = "kiosk-01", store_id: str = "store-01",
         timezone: str = "Asia/Shanghai", now: datetime | None = None) -> None:
    """Create a ledger at ``path`` with the demo rules, staff and members (the file must not exist)."""
    clock = from_env()
    now = (now or clock.now()).astimezone(ZoneInfo(timezone)).replace(microsecond=0)
    year_ago = now.replace(year=now.year - 1, day=1, hour=10, minute=0, second=0)
    led = Ledger.create(path, kiosk_id=kiosk_id, store_id=store_id, timezone=timezone, rules_text=DEMO_RULES,
                        clock=clock, at=_at(year_ago - timedelta(days=1)))
    try:
        for card, staff_id, name, role, pin in STAFF:
            led.add_staff(staff_id, name, role, pin, card.card_id)
        _members(led, now, year_ago)
    finally:
        led.close()
    pictures = Path(path).parent / GIFT_PICTURES       # as the kiosk caches head office's gift pictures
    pictures.mkdir(exist_ok=True)
    for picture in DEMO_PICTURES.glob("*.png"):
        shutil.copyfile(picture, pictures / picture.name)


def _members(led: Ledger, now: datetime, year_ago: datetime) -> None:
    op = "admin"
    recently = now - timedelta(days=3)
    birthday = date(1985, now.month, min(8, now.day)).isoformat()
    led.register(name=ZHANG_NAME, phone=ZHANG_PHONE, card_id=ZHANG.card_id, birthday=birthday, operator=op,
                 member_id=ZHANG_MEMBER_ID, at=_at(year_ago))
    led.purchase(ZHANG.card_id, lines_from_amount(60000), operator=op, at=_at(year_ago + timedelta(hours=1)))
    led.purchase(ZHANG.card_id, lines_from_amount(520000), operator=op, at=_at(recently))
    led.topup(ZHANG.card_id, 100000, operator=op, at=_at(recently + timedelta(hours=1)))
    for code in ("C10", "V20"):
        led.issue_coupon(ZHANG.card_id, code, operator=op, at=_at(recently))
    led.sell_package(ZHANG.card_id, led.rules.package("COFFEE10"), operator=op, at=_at(recently))
    for hour in (2, 3, 4):
        led.use_package(ZHANG.card_id, operator=op, at=_at(recently + timedelta(hours=hour)))

    led.register(name=ALICE_NAME, phone=ALICE_PHONE, card_id=ALICE.card_id, operator=op, at=_at(recently))
    led.purchase(ALICE.card_id, lines_from_amount(12000), operator=op, at=_at(recently + timedelta(hours=1)))
    led.topup(ALICE.card_id, 50000, operator=op, at=_at(recently + timedelta(hours=2)))
    led.issue_coupon(ALICE.card_id, "M200-50", operator=op, at=_at(recently))

    led.register(name="李四", phone="13700137003", card_id=LI.card_id, operator=op, at=_at(recently))
    led.adjust(LI.card_id, 2500, reason="welcome points", operator=op, at=_at(recently))
    led.sell_package(LI.card_id, led.rules.package("WASH5"), operator=op, at=_at(recently))

    led.register(name="王五", phone="13600136004", card_id=LOST.card_id, operator=op, at=_at(recently))
    led.report_lost(LOST.card_id, operator=op, at=_at(recently + timedelta(hours=1)))
