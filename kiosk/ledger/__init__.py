"""The local ledger: pure domain and its SQLite store (no Kivy, no MQTT, no hardware).

``Ledger`` is the one object callers use: a facade over the core (:mod:`kiosk.ledger.core`: the
file, clock, rules, transactions) and the subject services composed from it (members, points,
value, purchases, point moves, benefits, staff, head office's data, views; :mod:`kiosk.ledger.service`).
Its public methods delegate to the service that owns them, so callers never name a service.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

from . import guard, pii, schema
from .benefit_ops import BenefitService
from .clock import Clock
from .core import ADMIN, SELF, LedgerCore, create_private
from .guard import Approval, OfflineLimitsGuard, SpendGuard, Spends
from .errors import InvalidInput, LedgerError, NotALedger, NotFound, Refused, RulesError
from .head_office import HeadOfficeService
from .members import MemberService
from .money import format_fen, parse_count, parse_fen
from .point_moves import PointMoveService
from .points import PointsService
from .pricing import Line, Quote
from .purchase import PurchaseService, lines_from_amount
from .rules import Rules, load_rules
from .staff import StaffService
from .value import ValueService
from .verify import verify
from .phones import mask_phone
from .views import ViewService, mask_name

REFERENCE_RULES = Path(__file__).with_name("reference_rules.toml")


class Via:
    """A facade method: the same-named method of one of the ledger's services."""

    def __init__(self, service: str):
        self.service = service

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, ledger, owner=None):
        if ledger is None:
            return self
        return getattr(getattr(ledger, self.service), self.name)


class Ledger(LedgerCore):
    """A kiosk's ledger file: ``Ledger(path)`` opens one, ``Ledger.create`` (``kioskctl init``) makes one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._compose()

    def _compose(self) -> None:
        """The subject services over this core (head office's replay composes them over its own tables)."""
        self.points = PointsService(self)
        self.members = MemberService(self, self.points)
        self.benefits = BenefitService(self)
        self.value = ValueService(self, self.benefits)
        self.purchases = PurchaseService(self, self.points)
        self.point_moves = PointMoveService(self, self.points)
        self.staff = StaffService(self)
        self.head_office = HeadOfficeService(self)
        self.views = ViewService(self, self.points, self.head_office)

    # members and cards
    register = Via("members")
    edit_profile = Via("members")
    member_by_phone = Via("members")
    member_id_for = Via("members")
    card_for_member = Via("members")
    report_lost = Via("members")
    replace_card = Via("members")
    close_account = Via("members")
    erase_member = Via("members")
    accept_keys = Via("members")
    # points
    available_points = Via("points")
    checkin = Via("points")
    claim_receipt = Via("points")
    adjust = Via("points")
    redeem = Via("points")
    expire = Via("points")
    evaluate_tiers = Via("points")
    convert_points = Via("point_moves")
    transfer_points = Via("point_moves")
    # stored value, packages, coupons
    topup_bonus = Via("value")
    topup = Via("value")
    undo_topup = Via("value")
    sell_package = Via("value")
    use_package = Via("value")
    issue_coupon = Via("value")
    # purchases
    preview_purchase = Via("purchases")
    purchase = Via("purchases")
    purchase_deferred = Via("purchases")
    refund = Via("purchases")
    preview_refund = Via("purchases")
    # tier benefits paid on a visit
    benefits_due = Via("benefits")
    visit = Via("benefits")
    # staff
    staff_for_card = Via("staff")
    sign_in = Via("staff")
    add_staff = Via("staff")
    reset_pin = Via("staff")
    unlock_staff = Via("staff")
    audit = Via("staff")
    # what head office sends and confirms
    unsent = Via("head_office")
    outbox_backlog = Via("head_office")
    confirm = Via("head_office")
    keep_balances = Via("head_office")
    confirmed_balance = Via("head_office")
    shown_balance = Via("head_office")
    set_rules = Via("head_office")
    replace_staff = Via("head_office")
    replace_block_list = Via("head_office")
    heard_from_head_office = Via("head_office")
    set_offline_limits = Via("head_office")
    offline_limits = Via("head_office")
    head_office_contact = Via("head_office")
    # what members, cashiers and reports see
    member_view = Via("views")
    check = Via("views")
    history = Via("views")
    journal = Via("views")
    gifts = Via("views")
    day_records = Via("views")
    staff_names = Via("views")
    day_summary = Via("views")

    @classmethod
    def create(cls, path: str | Path, *, kiosk_id: str | None = None, store_id: str | None = None,
               timezone: str = "Asia/Shanghai", phone_region: str = "CN", rules_text: str | None = None,
               operator: str = ADMIN, at: str | None = None, clock: Clock | None = None,
               pii_key: bytes | None = None) -> "Ledger":
        """Make a ledger for this kiosk and install rules; on an existing ledger, re-install the rules.

        The new file is built beside ``path`` and renamed into place, so a failure (bad rules, a
        crash) leaves no file behind. It is the owner's only (0600), and so are its -wal and -shm.
        An existing file that is not a ledger is refused untouched
        (an empty file is taken over). ``pii_key``: the chain's personal-data key (a provisioned
        secret); by default the key file beside the ledger, made with a new random key when missing.
        """
        rules_text = load_rules(rules_text if rules_text is not None else REFERENCE_RULES.read_text()).source
        path = Path(path)
        if not schema.is_ledger_file(path):
            if path.exists() and (not path.is_file() or path.stat().st_size):
                raise NotALedger(f"{path} is not a kiosk ledger (left unchanged; init makes new files only)")
            path.parent.mkdir(parents=True, exist_ok=True)
            key_file = pii.key_file_for(path)
            key = pii.read_key_file(key_file) if key_file.exists() else pii_key or os.urandom(pii.KEY_BYTES)
            building = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.new")
            try:
                create_private(building)
                schema.mark(building, kiosk_id or schema.DEFAULT_KIOSK_ID, store_id or schema.DEFAULT_STORE_ID)
                with cls(building, timezone=timezone, clock=clock, pii_key=key) as led:
                    led.init(rules_text, operator=operator, at=at)
                pii.load_or_make(key_file, pii_key or key)
                os.replace(building, path)
            finally:
                for suffix in ("", "-wal", "-shm", "-journal", ".key"):
                    Path(f"{building}{suffix}").unlink(missing_ok=True)
            _sync_folder(path.parent)
            return cls(path, timezone=timezone, phone_region=phone_region, clock=clock)
        led = cls(path, kiosk_id=kiosk_id, store_id=store_id, timezone=timezone, phone_region=phone_region,
                  clock=clock, pii_key=pii_key)
        try:
            led.init(rules_text, operator=operator, at=at)
        except BaseException:
            led.close()
            raise
        return led

    def init(self, rules_text: str | None = None, *, operator: str = ADMIN, at: str | None = None) -> dict:
        """Install rules (the reference set by default) and seed this store's gift stock once.
        Replacing installed rules is a manager's action, journaled as ``rules_replaced``."""
        rules = load_rules(rules_text if rules_text is not None else REFERENCE_RULES.read_text())
        self.require_role(operator, "rules_replaced")
        installed = self.meta("rules")
        if installed is None:
            self.install_rules(rules.source)
        elif installed != rules.source:
            with self.transaction("rules_replaced", operator=operator, at=at, record_only=True,
                                  data={"from": load_rules(installed).digest, "to": rules.digest}):
                self.install_rules(rules.source)
        seeded = []
        missing = [g for g in rules.gifts if not self.conn.execute(
            "SELECT 1 FROM stock WHERE store_id = ? AND sku = ?", (self.store_id, g.sku)).fetchone()]
        if missing:
            with self.transaction("stock", operator=operator, at=at) as t:
                for gift in missing:
                    t.effect("stock", sku=gift.sku, set=gift.stock)
                    seeded.append(gift.sku)
        return {"rules": rules.digest, "stock_seeded": seeded}


def _sync_folder(folder: Path) -> None:
    """Make a rename durable (the folder entry reaches the disk)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["Ledger", "ADMIN", "SELF", "LedgerError", "InvalidInput", "NotFound", "Refused", "RulesError",
           "Line", "Quote", "Rules", "load_rules", "lines_from_amount", "parse_fen", "format_fen", "parse_count",
           "verify", "NotALedger", "mask_name", "mask_phone", "REFERENCE_RULES", "Approval", "OfflineLimitsGuard",
           "SpendGuard", "Spends"]
