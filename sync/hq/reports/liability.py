"""What the chain owes its members as of the end of a day: outstanding points (and their value at the
points-as-cash rate) and stored value (principal and bonus), by the member's home store.

Balances "as of" a past day cannot be read from the cached balances (they are now), so the journal
up to the end of that day is replayed through the ledger's own effect handlers into a scratch
database: the same definition of every balance the kiosks and the hub use.
"""
from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date, timedelta

from kiosk.ledger import REFERENCE_RULES, load_rules
from kiosk.ledger import schema
from kiosk.ledger.apply import apply_effects
from kiosk.ledger.holdings import valid_lot

from ..output import Table
from .period import DEFAULT_TZ, records_before, utc_text_of_day

_BALANCE_OPS = {"member.add", "lot.add", "lot.take", "debt", "sv"}


def hub_rules(conn):
    """The rules head office last published (the reference rules before any were)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'rules'").fetchone()
    return load_rules(row[0] if row else REFERENCE_RULES.read_text())


def member_balances(conn, day: date, tz: str = DEFAULT_TZ) -> list[dict]:
    """Every member's points (valid on ``day``, net of debt) and stored value at the end of ``day``."""
    scratch = sqlite3.connect(":memory:", isolation_level=None)
    schema.create(scratch)
    home: dict[str, str] = {}
    scratch.execute("BEGIN")
    for record in records_before(conn, utc_text_of_day(day + timedelta(days=1), tz)):
        effects = [e for e in record["effects"] if e["op"] in _BALANCE_OPS]
        if not effects:
            continue
        for e in effects:
            if e["op"] == "member.add":
                home[e["member_id"]] = record["store_id"]
        apply_effects(scratch, {**record, "effects": effects}, strict=False)
    rows = scratch.execute(
        "SELECT m.member_id, m.points_debt, m.principal_fen, m.bonus_fen, COALESCE(SUM(l.remaining), 0)"
        f" FROM members m LEFT JOIN lots l ON l.member_id = m.member_id AND {valid_lot('l')} GROUP BY m.member_id ORDER BY m.member_id",
        (day.isoformat(),)).fetchall()
    scratch.execute("COMMIT")
    scratch.close()
    return [{"member_id": m, "store_id": home.get(m, "?"), "points": lots - debt, "principal_fen": p,
             "bonus_fen": b} for m, debt, p, b, lots in rows]


def liability(conn, day: date, tz: str = DEFAULT_TZ, *, balances: list[dict] | None = None) -> dict:
    """Totals by home store and chain-wide at the end of ``day`` (what finance books at month end)."""
    rules = hub_rules(conn)
    balances = member_balances(conn, day, tz) if balances is None else balances
    stores: dict[str, dict] = defaultdict(lambda: {"members": 0, "points": 0, "principal_fen": 0, "bonus_fen": 0})
    for b in balances:
        s = stores[b["store_id"]]
        s["members"] += 1
        s["points"] += b["points"]
        s["principal_fen"] += b["principal_fen"]
        s["bonus_fen"] += b["bonus_fen"]
    chain = {k: sum(s[k] for s in stores.values()) for k in ("members", "points", "principal_fen", "bonus_fen")}
    for totals in (*stores.values(), chain):
        totals["points_value_fen"] = totals["points"] * 100 // rules.cash_points_per_yuan
        totals["stored_value_fen"] = totals["principal_fen"] + totals["bonus_fen"]
    return {"as_of": day.isoformat(), "tz": tz, "cash_points_per_yuan": rules.cash_points_per_yuan,
            "stores": dict(sorted(stores.items())), "chain": chain}


def members_above(conn, day: date, threshold_fen: int, tz: str = DEFAULT_TZ) -> list[dict]:
    """Members whose stored value (principal + bonus) exceeds ``threshold_fen`` at the end of ``day``."""
    return sorted(({**b, "stored_value_fen": b["principal_fen"] + b["bonus_fen"]}
                   for b in member_balances(conn, day, tz) if b["principal_fen"] + b["bonus_fen"] > threshold_fen),
                  key=lambda b: (-b["stored_value_fen"], b["member_id"]))


LIABILITY_COLUMNS = ["members", "points", "points_value_fen", "principal_fen", "bonus_fen", "stored_value_fen"]


def liability_tables(report: dict) -> list[Table]:
    rows = [[s, *(t[c] for c in LIABILITY_COLUMNS)] for s, t in report["stores"].items()]
    rows.append(["(chain)", *(report["chain"][c] for c in LIABILITY_COLUMNS)])
    return [Table(f"Liability at the end of {report['as_of']} ({report['tz']}), "
                  f"{report['cash_points_per_yuan']} points = 1 yuan", ["store_id", *LIABILITY_COLUMNS], rows)]
