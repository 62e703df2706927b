"""Head office's counter operations that are not reports: restocking a store's gifts, listing and
disabling staff. Restock is a journaled head-office transaction (it reaches the store's kiosks
through the feed, and the store's catalogue is republished with the new stock); a disabled staff
member is left out of the staff list every kiosk receives, so their card and PIN stop working."""
from __future__ import annotations

from datetime import datetime

from kiosk.ledger.dates import to_utc_text

from .db import Db
from .ingest import Ingest
from .reports.liability import hub_rules
from .retained import Retained


def restock(db: Db, store_id: str, sku: str, qty: int, *, operator: str, now: datetime) -> dict:
    """Add ``qty`` of gift ``sku`` to ``store_id``'s stock (negative: a correction, never below 0)."""
    if hub_rules(db.conn).gift(sku) is None:
        raise LookupError(f"gift {sku} is not in the catalogue of the published rules")
    if qty == 0 or abs(qty) > 100_000:
        raise ValueError("--qty must be a whole number from -100000 to 100000, not 0")
    row = db.conn.execute("SELECT stock FROM stock WHERE store_id = ? AND sku = ?", (store_id, sku)).fetchone()
    have = row[0] if row else 0
    if have + qty < 0:
        raise LookupError(f"{store_id} has {have} of {sku}: cannot take away {-qty}")
    with db.transaction():
        record = Ingest(db).originate_within(
            "restock", [{"op": "stock", "store_id": store_id, "sku": sku, "delta": qty}], store_id=store_id,
            operator=operator, reason="restock", data={"sku": sku, "qty": qty}, at=to_utc_text(now))
    version = Retained(db).set_catalogue(store_id)
    return {"tx_id": record["tx_id"], "store_id": store_id, "sku": sku, "qty": qty, "stock": have + qty,
            "catalogue_version": version}


def list_staff(conn) -> list[dict]:
    rows = conn.execute(
        "SELECT s.staff_id, s.name, s.role, s.card_id, d.at, d.by, d.reason FROM staff s"
        " LEFT JOIN hq_staff_disabled d ON d.staff_id = s.staff_id ORDER BY s.staff_id").fetchall()
    return [{"staff_id": sid, "name": name, "role": role, "card_id": card or "", "disabled": bool(at),
             "disabled_at": at or "", "disabled_by": by or "", "reason": reason or ""}
            for sid, name, role, card, at, by, reason in rows]


def disable_staff(db: Db, staff_id: str, *, by: str, reason: str, now: datetime) -> dict:
    """Stop a staff member everywhere: kiosks drop them with the next staff list version."""
    if not reason.strip():
        raise ValueError("disabling staff needs a --reason")
    with db.transaction():
        if db.conn.execute("SELECT 1 FROM staff WHERE staff_id = ?", (staff_id,)).fetchone() is None:
            raise LookupError(f"staff {staff_id} is not known at head office")
        db.conn.execute("INSERT INTO hq_staff_disabled (staff_id, at, by, reason) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (staff_id) DO NOTHING", (staff_id, to_utc_text(now), by, reason.strip()))
        version = Retained(db).republish_staff()
    return {"staff_id": staff_id, "disabled": True, "staff_version": version}
