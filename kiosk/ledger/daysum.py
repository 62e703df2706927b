"""The day summary: every movement of money and points a kiosk made in one local day.

Built from the journal records alone, so it reconciles with them by construction: points and
stored value from the effects (nothing that moves them can be missed), counts and the till
(money that crossed the counter) from each kind's data.
"""
from __future__ import annotations

# why a lot.take took points -> the figure it counts in
_TAKEN = {"redeem": "points_redeemed", "cash": "points_redeemed", "refund": "points_refunded",
          "expire": "points_expired", "forfeit": "points_forfeited", "adjust": "points_adjusted_off"}
# kind -> the count it adds to
_COUNTED = {"purchase": "purchases", "refund": "refunds", "topup": "topups", "topup_undo": "topup_undos",
            "package_sell": "package_sales", "package_use": "package_uses", "close": "closes", "redeem": "gifts",
            "purchase_deferred": "deferred_purchases", "checkin": "checkins", "receipt_claim": "receipt_claims",
            "adjust": "adjustments"}


def _money(kind: str, data: dict) -> dict[str, int]:
    """What a transaction adds to the money figures (fen), by kind."""
    if kind == "purchase":
        return {"sales_fen": data["payable_fen"], "coupon_discount_fen": data["coupon_discount_fen"],
                "cash_in_fen": data["payable_fen"] - data["sv_principal_fen"] - data["sv_bonus_fen"]}
    if kind == "purchase_deferred":     # paid outside stored value; head office credits the points
        return {"sales_fen": data["amount_fen"], "cash_in_fen": data["amount_fen"]}
    if kind == "refund":
        return {"refund_fen": data["amount_fen"], "cash_out_fen": data["external_fen"]}
    if kind == "topup":
        return {"topup_fen": data["amount_fen"], "topup_bonus_fen": data["bonus_fen"], "cash_in_fen": data["amount_fen"]}
    if kind == "topup_undo":
        return {"topup_undo_fen": data["principal_fen"] + data["bonus_fen"], "cash_out_fen": data["principal_fen"]}
    if kind == "package_sell":
        paid_outside = data["price_fen"] - data["sv_principal_fen"] - data["sv_bonus_fen"]
        return {"package_sales_fen": data["price_fen"], "cash_in_fen": paid_outside}
    if kind == "close":
        return {"close_refund_fen": data["refund_principal_fen"], "close_forfeit_bonus_fen": data["forfeit_bonus_fen"],
                "cash_out_fen": data["refund_principal_fen"]}
    return {}


def day_summary(day: str, records: list[dict]) -> dict:
    summary = {"day": day, "transactions": len(records), **dict.fromkeys(_COUNTED.values(), 0),
               "sales_fen": 0, "coupon_discount_fen": 0, "refund_fen": 0, "topup_fen": 0, "topup_bonus_fen": 0, "topup_undo_fen": 0,
               "package_sales_fen": 0, "close_refund_fen": 0, "close_forfeit_bonus_fen": 0,
               "cash_in_fen": 0, "cash_out_fen": 0, "stored_value_in_fen": 0, "stored_value_out_fen": 0,
               "points_issued": 0, **dict.fromkeys(_TAKEN.values(), 0), "points_debt_added": 0,
               "points_debt_repaid": 0}
    for record in records:
        if record["kind"] in _COUNTED:
            summary[_COUNTED[record["kind"]]] += 1
        for key, fen in _money(record["kind"], record["data"]).items():
            summary[key] += fen
        for e in record["effects"]:
            if e["op"] == "lot.add":
                summary["points_issued"] += e["points"]
            elif e["op"] == "lot.take":
                summary[_TAKEN[e["why"]]] += e["points"]
            elif e["op"] == "debt":
                summary["points_debt_added" if e["delta"] > 0 else "points_debt_repaid"] += abs(e["delta"])
            elif e["op"] == "sv":
                change = e["principal"] + e["bonus"]
                summary["stored_value_in_fen" if change > 0 else "stored_value_out_fen"] += abs(change)
    return summary
