"""Head office's retained data (rules, block list, staff, offline limits, catalogues, gift pictures), versioned.

Every change bumps a version in ``hq_versions`` together with the change itself; the running
hub publishes whatever has a newer version than it last published, retained and signed, so an
admin command needs no broker connection and a kiosk ignores anything older than it holds.
"""
from __future__ import annotations

import base64
import json

from kiosk.ledger import load_rules, pictures
from kiosk.ledger.staff import add_staff

from kiosk.ledger.clock import Clock, from_env, now_text

from ..protocol import check, topics
from .db import Db
from .rulebook import keep_rules

FIXED = {"rules": topics.RULES, "blocklist": topics.BLOCKLIST, "staff": topics.STAFF, "limits": topics.LIMITS}


def topic_and_type(name: str) -> tuple[str, str]:
    if name.startswith("catalogue/"):
        return topics.catalogue(name.split("/", 1)[1]), "catalogue"
    if name.startswith("picture/"):
        return topics.picture(name.split("/", 1)[1]), "picture"
    return FIXED[name], name


class Retained:
    def __init__(self, db: Db, clock: Clock | None = None):
        self.db, self.conn = db, db.conn
        self.clock = clock or from_env()

    def _bump(self, name: str, body: dict) -> int:
        """Store ``body`` as the next version of ``name`` (call inside a transaction; the version's
        name is locked, so two hubs bumping it at once give two versions, not one twice)."""
        self.db.lock([f"version:{name}"])
        row = self.conn.execute("SELECT version FROM hq_versions WHERE name = ?", (name,)).fetchone()
        version = (row[0] if row else 0) + 1
        check(topic_and_type(name)[1], {**body, "version": version})
        self.conn.execute("INSERT INTO hq_versions (name, version, body) VALUES (?, ?, ?) ON CONFLICT (name)"
                          " DO UPDATE SET version = excluded.version, body = excluded.body",
                          (name, version, json.dumps(body, ensure_ascii=False)))
        return version

    def versions(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT name, version FROM hq_versions").fetchall())

    def message(self, name: str) -> tuple[str, str, dict]:
        """(topic, type, body with version) of the current version of ``name``."""
        version, body = self.conn.execute("SELECT version, body FROM hq_versions WHERE name = ?", (name,)).fetchone()
        topic, type_ = topic_and_type(name)
        return topic, type_, {**json.loads(body), "version": version}

    # -- changes -------------------------------------------------------------------------------
    def set_rules(self, text: str) -> int:
        rules = load_rules(text)     # refuses invalid rules with the key's name
        with self.db.transaction(["version:rules"]):
            self.conn.execute("INSERT INTO meta (key, value) VALUES ('rules', ?)"
                              " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (rules.source,))
            keep_rules(self.conn, rules, now_text(self.clock))
            return self._bump("rules", {"text": rules.source})

    def set_limits(self, limits: dict) -> int:
        with self.db.transaction(["version:limits"]):
            return self._bump("limits", limits)

    def block(self, card_id: str, reason: str) -> int:
        with self.db.transaction(["version:blocklist"]):
            self.conn.execute("INSERT INTO blocklist (card_id, reason, since) VALUES (?, ?, ?) ON CONFLICT (card_id)"
                              " DO UPDATE SET reason = excluded.reason", (card_id, reason, now_text(self.clock)))
            return self.republish_blocklist()

    def unblock(self, card_id: str) -> int:
        with self.db.transaction(["version:blocklist"]):
            self.conn.execute("DELETE FROM blocklist WHERE card_id = ?", (card_id,))
            return self.republish_blocklist()

    def republish_blocklist(self) -> int:
        """Bump the block list to the table's content (inside a transaction)."""
        cards = [{"card_id": c, "reason": r} for c, r in self.conn.execute(
            "SELECT card_id, reason FROM blocklist ORDER BY card_id").fetchall()]
        return self._bump("blocklist", {"cards": cards})

    def add_staff(self, staff_id: str, name: str, role: str, pin: str, card_id: str | None = None) -> int:
        with self.db.transaction(["version:staff"]):
            add_staff(self.conn, staff_id, name, role, pin, card_id)
            self.conn.execute("DELETE FROM hq_staff_disabled WHERE staff_id = ?", (staff_id,))  # added again: enabled
            return self.republish_staff()

    def republish_staff(self) -> int:
        """Bump the staff list to the table's content less disabled staff (inside a transaction)."""
        staff = [dict(zip(("staff_id", "name", "role", "card_id", "pin_hash"), row)) for row in self.conn.execute(
            "SELECT staff_id, name, role, card_id, pin_hash FROM staff WHERE staff_id NOT IN"
            " (SELECT staff_id FROM hq_staff_disabled) ORDER BY staff_id").fetchall()]
        return self._bump("staff", {"staff": staff})

    def set_catalogue(self, store_id: str) -> int:
        """The store's gift catalogue (from the rules) with head office's stock for it."""
        with self.db.transaction([f"stock:{store_id}", f"version:catalogue/{store_id}"]):
            text = self.conn.execute("SELECT value FROM meta WHERE key = 'rules'").fetchone()
            gifts = load_rules(text[0]).gifts if text else ()
            stock = dict(self.conn.execute("SELECT sku, stock FROM stock WHERE store_id = ?", (store_id,)).fetchall())
            return self._bump(f"catalogue/{store_id}", {"store_id": store_id, "gifts": [
                {"sku": g.sku, "name": g.name, "points": g.points, "stock": stock.get(g.sku, 0)} for g in gifts]})

    def set_picture(self, sku: str, file: str) -> dict:
        """A gift's picture (PNG or JPEG by content, at most 256 KiB) for every kiosk, retained on its
        SKU's topic. The SKU must be a gift of the published rules, so a typo is not published."""
        with open(file, "rb") as f:
            data = f.read(pictures.MAX_BYTES + 1)       # enough to tell it is too large
        try:
            fmt = pictures.sniff(data)
        except pictures.BadPicture as exc:
            raise pictures.BadPicture(f"picture {file}: {exc}") from None
        name = f"picture/{pictures.check_sku(sku)}"
        with self.db.transaction([f"version:{name}"]):
            text = self.conn.execute("SELECT value FROM meta WHERE key = 'rules'").fetchone()
            if not text or load_rules(text[0]).gift(sku) is None:
                raise ValueError(f"gift {sku} is not in the catalogue of the published rules")
            version = self._bump(name,
                                 {"sku": sku, "format": fmt, "data": base64.b64encode(data).decode()})
        return {"sku": sku, "format": fmt, "bytes": len(data), "version": version}
