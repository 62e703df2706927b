"""The local ledger: pure domain and its SQLite store (no Kivy, no MQTT, no hardware).

``Ledger`` is the one object callers use; its operations live in small modules by subject
(members, points, value, purchase, views) and all write through :mod:`kiosk.ledger.core`.
"""
from __future__ import annotations

from pathlib import Path

from . import staff
from .core import ADMIN, SELF
from .errors import InvalidInput, LedgerError, NotFound, Refused, RulesError
from .money import format_fen, parse_count, parse_fen
from .pricing import Line, Quote
from .purchase import lines_from_amount
from .rules import Rules, load_rules
from .verify import verify
from .views import Views, mask_name, mask_phone

REFERENCE_RULES = Path(__file__).with_name("reference_rules.toml")


class Ledger(Views):
    """Open (creating if needed) a kiosk's ledger file."""

    def init(self, rules_text: str | None = None, *, operator: str = ADMIN, at: str | None = None) -> dict:
        """Install rules (the reference set by default) and seed this store's gift stock once."""
        rules = load_rules(rules_text if rules_text is not None else REFERENCE_RULES.read_text())
        with self._write():
            self.set_meta("rules", rules.source)
        self._rules = None  # our own write does not change PRAGMA data_version
        seeded = []
        missing = [g for g in rules.gifts if not self.conn.execute(
            "SELECT 1 FROM stock WHERE store_id = ? AND sku = ?", (self.store_id, g.sku)).fetchone()]
        if missing:
            with self.transaction("stock", operator=operator, at=at, role="manager") as t:
                for gift in missing:
                    t.effect("stock", sku=gift.sku, set=gift.stock)
                    seeded.append(gift.sku)
        return {"rules": rules.digest, "stock_seeded": seeded}

    def add_staff(self, staff_id: str, name: str, role: str, pin: str, card_id: str | None = None) -> None:
        with self._write():
            staff.add_staff(self.conn, staff_id, name, role, pin, card_id)

    def sign_in(self, card_or_id: str, pin: str) -> dict:
        """A staff member's card (or id) and PIN, at the ledger's clock; wrong PINs count towards the lockout.
        Each counter update commits on its own, so a refusal still counts."""
        return staff.sign_in(self.conn, card_or_id, pin, self.clock.now())

    def staff_for_card(self, card_id: str) -> dict | None:
        """The staff member a card belongs to, or None (so a tap can tell staff from members)."""
        row = self.conn.execute("SELECT staff_id, name, role FROM staff WHERE card_id = ?", (card_id,)).fetchone()
        return dict(zip(("staff_id", "name", "role"), row)) if row else None

    def card_for_member(self, member_id: str) -> str | None:
        """The member's active card (a phone QR code names the member, not a card)."""
        row = self.conn.execute("SELECT card_id FROM cards WHERE member_id = ? ORDER BY status = 'active' DESC,"
                                " issued_at DESC LIMIT 1", (member_id,)).fetchone()
        return row[0] if row else None


__all__ = ["Ledger", "ADMIN", "SELF", "LedgerError", "InvalidInput", "NotFound", "Refused", "RulesError",
           "Line", "Quote", "Rules", "load_rules", "lines_from_amount", "parse_fen", "format_fen", "parse_count",
           "verify", "mask_name", "mask_phone", "REFERENCE_RULES"]
