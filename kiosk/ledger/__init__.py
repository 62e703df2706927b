"""The local ledger: pure domain and its SQLite store (no Kivy, no MQTT, no hardware).

``Ledger`` is the one object callers use; its operations live in small modules by subject
(members, points, value, purchase, views) and all write through :mod:`kiosk.ledger.core`.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

from . import pii, schema
from .clock import Clock
from .core import ADMIN, SELF, create_private
from .errors import InvalidInput, LedgerError, NotALedger, NotFound, Refused, RulesError
from .money import format_fen, parse_count, parse_fen
from .pricing import Line, Quote
from .purchase import lines_from_amount
from .rules import Rules, load_rules
from .staff import StaffOps
from .verify import verify
from .phones import mask_phone
from .views import Views, mask_name

REFERENCE_RULES = Path(__file__).with_name("reference_rules.toml")


class Ledger(Views, StaffOps):
    """A kiosk's ledger file: ``Ledger(path)`` opens one, ``Ledger.create`` (``kioskctl init``) makes one."""

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
            with self._write():
                self.set_meta("rules", rules.source)
        elif installed != rules.source:
            with self.transaction("rules_replaced", operator=operator, at=at, record_only=True,
                                  data={"from": load_rules(installed).digest, "to": rules.digest}):
                self.set_meta("rules", rules.source)
        self._rules = None  # our own write does not change PRAGMA data_version
        seeded = []
        missing = [g for g in rules.gifts if not self.conn.execute(
            "SELECT 1 FROM stock WHERE store_id = ? AND sku = ?", (self.store_id, g.sku)).fetchone()]
        if missing:
            with self.transaction("stock", operator=operator, at=at) as t:
                for gift in missing:
                    t.effect("stock", sku=gift.sku, set=gift.stock)
                    seeded.append(gift.sku)
        return {"rules": rules.digest, "stock_seeded": seeded}

    def staff_for_card(self, card_id: str) -> dict | None:
        """The staff member a card belongs to, or None (so a tap can tell staff from members)."""
        row = self.conn.execute("SELECT staff_id, name, role FROM staff WHERE card_id = ?", (card_id,)).fetchone()
        return dict(zip(("staff_id", "name", "role"), row)) if row else None

    def card_for_member(self, member_id: str) -> str | None:
        """The member's active card (a phone QR code names the member, not a card)."""
        row = self.conn.execute("SELECT card_id FROM cards WHERE member_id = ? ORDER BY status = 'active' DESC,"
                                " issued_at DESC LIMIT 1", (member_id,)).fetchone()
        return row[0] if row else None


def _sync_folder(folder: Path) -> None:
    """Make a rename durable (the folder entry reaches the disk)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


__all__ = ["Ledger", "ADMIN", "SELF", "LedgerError", "InvalidInput", "NotFound", "Refused", "RulesError",
           "Line", "Quote", "Rules", "load_rules", "lines_from_amount", "parse_fen", "format_fen", "parse_count",
           "verify", "NotALedger", "mask_name", "mask_phone", "REFERENCE_RULES"]
