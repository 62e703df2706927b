"""Money at the counter per cashier for the day, and the shift close (交班) a cashier shows the manager.

Pure functions of this kiosk's journal records (``Ledger.day_records``): what came in at the till
(cash, card, QR at the POS) is kept apart from what was paid out of members' stored value, because
only the till's part is in the drawer. Refunds and undone top-ups count against the way the money
came in.
"""
from __future__ import annotations

from collections import defaultdict


def _till_and_stored_value(record: dict) -> tuple[int, int]:
    """(till fen, stored-value fen) one record moved; negative when money went back."""
    data, kind = record.get("data") or {}, record["kind"]
    stored = data.get("sv_principal_fen", 0) + data.get("sv_bonus_fen", 0)
    if kind == "purchase":
        return data.get("external_fen", 0), stored
    if kind == "refund":
        return -data.get("external_fen", 0), -stored
    if kind == "topup":
        return data.get("amount_fen", 0), 0
    if kind == "topup_undo":
        return -data.get("principal_fen", 0), 0
    if kind == "close":
        return -data.get("refund_principal_fen", 0), 0
    if kind == "package_sell":
        return (0, stored) if data.get("pay") == "stored-value" else (data.get("price_fen", 0), 0)
    return 0, 0


def shift_figures(records: list[dict]) -> dict[str, dict]:
    """Per operator (staff id; members' own actions are left out): transactions, till, stored value."""
    figures: dict[str, dict] = defaultdict(lambda: {"transactions": 0, "till_fen": 0, "stored_value_fen": 0})
    for record in records:
        operator = record["operator"]
        if operator in ("self", "admin"):
            continue
        till, stored = _till_and_stored_value(record)
        row = figures[operator]
        row["transactions"] += 1
        row["till_fen"] += till
        row["stored_value_fen"] += stored
    return dict(figures)
