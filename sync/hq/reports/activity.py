"""Member activity (tiers, active vs dormant, top members, product popularity, hours and weekdays)
and campaign effect (a window against the same number of days just before it)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from zoneinfo import ZoneInfo

from kiosk.ledger.dates import from_utc_text

from ..output import Table, table_from_dicts
from .liability import hub_rules
from .period import Period, records_between, utc_text_of_day
from .summary import summary


def _purchases(conn, start: str, end: str, zone: ZoneInfo) -> dict:
    """One pass over the window's purchases and refunds."""
    spend, skus, categories = Counter(), defaultdict(Counter), defaultdict(Counter)
    heat = [[0] * 24 for _ in range(7)]
    buyers = set()
    for record in records_between(conn, start, end, ("purchase", "refund")):
        member = record["member_id"]
        if record["kind"] == "refund":
            spend[member] -= record["data"].get("amount_fen", 0)
            continue
        local = from_utc_text(record["at"]).astimezone(zone)
        heat[local.weekday()][local.hour] += 1
        buyers.add(member)
        effect = next(e for e in record["effects"] if e["op"] == "purchase")
        spend[member] += effect["payable_fen"]
        for line in record["data"].get("lines", []):
            sku, category = line.get("sku") or "(none)", line.get("category") or "(none)"
            for table, key in ((skus, sku), (categories, category)):
                table[key]["lines"] += 1
                table[key]["gross_fen"] += line.get("amount_fen", 0)
    return {"spend": spend, "skus": skus, "categories": categories, "heat": heat, "buyers": buyers}


def activity(conn, period: Period, *, dormant_days: int = 90, top: int = 20) -> dict:
    zone = ZoneInfo(period.tz)
    seen = _purchases(conn, period.start, period.end, zone)
    lookback = utc_text_of_day(period.last + timedelta(days=1) - timedelta(days=dormant_days), period.tz)
    (active,) = conn.execute("SELECT COUNT(DISTINCT member_id) FROM journal WHERE kind = 'purchase' AND at >= ?"
                             " AND at < ?", (lookback, period.end)).fetchone()
    (members,) = conn.execute("SELECT COUNT(*) FROM members WHERE status = 'active' AND joined_at < ?",
                              (period.end,)).fetchone()
    counts = dict(conn.execute("SELECT tier, COUNT(*) FROM members WHERE status = 'active' GROUP BY tier").fetchall())
    tiers = [{"tier": t.id, "name": t.name, "name_zh": t.name_zh, "members": counts.get(t.id, 0)}
             for t in hub_rules(conn).tiers]
    ranked = sorted(seen["spend"].items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    return {
        "period": period.label, "tz": period.tz, "dormant_days": dormant_days,
        "members": members, "active": active, "dormant": members - active, "buyers_in_period": len(seen["buyers"]),
        "tiers": tiers,
        "top_members": [{"member_id": m, "spend_fen": s} for m, s in ranked],
        "skus": _ranked(seen["skus"], "sku"), "categories": _ranked(seen["categories"], "category"),
        "hour_of_week": seen["heat"],
    }


def _ranked(table: dict, name: str) -> list[dict]:
    return sorted(({name: key, **figures} for key, figures in table.items()),
                  key=lambda r: (-r["lines"], r[name]))


def activity_tables(data: dict) -> list[Table]:
    head = Table(f"Members {data['period']}", ["members", "active", "dormant", "buyers_in_period"],
                 [[data["members"], data["active"], data["dormant"], data["buyers_in_period"]]])
    tiers = table_from_dicts("Tiers (now)", data["tiers"], ["tier", "name", "name_zh", "members"])
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    heat = Table("Purchases by weekday and hour", ["weekday", *[f"{h:02d}" for h in range(24)]],
                 [[days[d], *data["hour_of_week"][d]] for d in range(7)])
    return [head, tiers, table_from_dicts("Top members", data["top_members"], ["member_id", "spend_fen"]),
            table_from_dicts("Products by SKU", data["skus"], ["sku", "lines", "gross_fen"]),
            table_from_dicts("Products by category", data["categories"], ["category", "lines", "gross_fen"]), heat]


CAMPAIGN_FIGURES = ("purchases", "payable_fen", "new_members", "sv_topped_up_principal_fen", "coupons_used")


def campaign(conn, period: Period) -> dict:
    """The campaign's days against the same number of days just before them."""
    days = (period.last - period.first).days + 1
    before = Period(f"{period.first - timedelta(days=days)}..{period.first - timedelta(days=1)}",
                    period.first - timedelta(days=days), period.first - timedelta(days=1), period.tz)
    zone = ZoneInfo(period.tz)
    windows = {}
    for name, window in (("before", before), ("during", period)):
        figures = summary(conn, window)
        buyers = _purchases(conn, window.start, window.end, zone)["buyers"]
        row = {k: figures["chain"][k] for k in CAMPAIGN_FIGURES}
        row["buyers"] = len(buyers)
        row["average_ticket_fen"] = row["payable_fen"] // row["purchases"] if row["purchases"] else 0
        row["daily_payable_fen"] = [figures["days"].get(d.isoformat(), {}).get("payable_fen", 0)
                                    for d in window.days()]
        windows[name] = {"period": window.label, **row}
    change = {k: {"delta": windows["during"][k] - windows["before"][k],
                  "percent": round(100 * (windows["during"][k] - windows["before"][k]) / windows["before"][k], 1)
                  if windows["before"][k] else None}
              for k in (*CAMPAIGN_FIGURES, "buyers", "average_ticket_fen")}
    return {"period": period.label, "days": days, "tz": period.tz, **windows, "change": change}


def campaign_tables(data: dict) -> list[Table]:
    keys = [*CAMPAIGN_FIGURES, "buyers", "average_ticket_fen"]
    return [Table(f"Campaign {data['period']} against {data['before']['period']}",
                  ["figure", "before", "during", "change", "change_percent"],
                  [[k, data["before"][k], data["during"][k], data["change"][k]["delta"],
                    "" if data["change"][k]["percent"] is None else data["change"][k]["percent"]] for k in keys])]
