"""Daily / monthly business summary per store, per cashier and chain-wide, from the journal.

Every figure is a sum over journal records' effects (the facts), never over cached balances, so
it reconciles with the journal by construction; ``tests/hq/test_summary.py`` recomputes them a
second way. Money is integer fen, points whole numbers.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from zoneinfo import ZoneInfo

from ..output import Table
from .period import Period, local_day, records_between

# (key, English, 中文): the order reports show them in
FIGURES = [
    ("new_members", "New members", "新会员"),
    ("purchases", "Purchases", "消费笔数"),
    ("gross_fen", "Gross sales (fen)", "原价合计(分)"),
    ("discount_fen", "Tier and coupon discounts (fen)", "会员折扣与优惠券(分)"),
    ("payable_fen", "Payable (fen)", "应付(分)"),
    ("paid_till_fen", "Paid at the till (fen)", "现金/其他支付(分)"),
    ("paid_stored_value_fen", "Paid from stored value (fen)", "储值支付(分)"),
    ("points_cash_points", "Points used as cash", "积分抵现(分数)"),
    ("points_cash_fen", "Points as cash (fen)", "积分抵现金额(分)"),
    ("refunds", "Refunds", "退款笔数"),
    ("refunded_fen", "Refunded (fen)", "退款金额(分)"),
    ("points_issued", "Points issued", "发放积分"),
    ("points_redeemed", "Points redeemed", "兑换/抵现积分"),
    ("points_expired", "Points expired", "过期积分"),
    ("points_clawed_back", "Points taken back by refunds", "退款扣回积分"),
    ("points_other_out", "Points adjusted out or forfeited", "调整/没收积分"),
    ("sv_topups", "Top-ups", "充值笔数"),
    ("sv_topped_up_principal_fen", "Topped up: principal (fen)", "充值本金(分)"),
    ("sv_topped_up_bonus_fen", "Topped up: bonus (fen)", "充值赠送(分)"),
    ("sv_spent_principal_fen", "Stored value spent: principal (fen)", "储值消费本金(分)"),
    ("sv_spent_bonus_fen", "Stored value spent: bonus (fen)", "储值消费赠送(分)"),
    ("sv_refunded_fen", "Stored value refunded (fen)", "储值退回(分)"),
    ("sv_undone_fen", "Top-ups undone (fen)", "撤销充值(分)"),
    ("sv_closed_fen", "Stored value closed out (fen)", "销户结清储值(分)"),
    ("sv_imported_fen", "Stored value imported (fen)", "迁移导入储值(分)"),
    ("coupons_issued", "Coupons issued", "发放优惠券"),
    ("coupons_used", "Coupons used", "使用优惠券"),
    ("gifts_redeemed", "Gifts redeemed", "兑换礼品"),
    ("packages_sold", "Packages sold", "售出计次卡"),
    ("package_uses", "Package uses", "计次卡使用次数"),
]
FIGURE_KEYS = [key for key, _, _ in FIGURES]
_REDEEMED = {"cash", "redeem"}
_SV_OUT = {"topup_undo": "sv_undone_fen", "close": "sv_closed_fen"}


def figures_of(record: dict) -> Counter:
    """The summary figures one journal record contributes."""
    c: Counter = Counter()
    kind, data = record["kind"], record.get("data") or {}
    for e in record["effects"]:
        op = e["op"]
        if op == "member.add":
            c["new_members"] += 1
        elif op == "purchase":
            c["purchases"] += 1
            c["payable_fen"] += e["payable_fen"]
            sv = e["sv_principal_fen"] + e["sv_bonus_fen"]
            c["paid_stored_value_fen"] += sv
            c["paid_till_fen"] += e["payable_fen"] - sv
            c["points_cash_points"] += e["points_cash"]
            c["points_cash_fen"] += data.get("points_cash_fen", 0)
            c["gross_fen"] += data.get("gross_fen", e["payable_fen"])
            c["discount_fen"] += data.get("tier_discount_fen", 0) + data.get("coupon_discount_fen", 0)
        elif op == "purchase.refund":
            c["refunds"] += 1
            c["refunded_fen"] += e["fen"]
        elif op == "lot.add":
            c["points_issued"] += e["points"]
        elif op == "debt":      # a debt repaid by earning is issued; one made by a refund is taken back
            c["points_issued" if e["delta"] < 0 else "points_clawed_back"] += abs(e["delta"])
        elif op == "lot.take":
            why = e.get("why", "")
            key = ("points_redeemed" if why in _REDEEMED else "points_expired" if why == "expire"
                   else "points_clawed_back" if why == "refund" else "points_other_out")
            c[key] += e["points"]
        elif op == "topup":
            c["sv_topups"] += 1
            c["sv_topped_up_principal_fen"] += e["principal"]
            c["sv_topped_up_bonus_fen"] += e["bonus"]
        elif op == "sv":
            _stored_value(c, kind, e)
        elif op == "coupon.add":
            c["coupons_issued"] += 1
        elif op == "coupon.use":
            c["coupons_used"] += 1
        elif op == "stock" and kind == "redeem":
            c["gifts_redeemed"] -= e.get("delta", 0)
        elif op == "package.add":
            c["packages_sold"] += 1
        elif op == "package.take" and kind == "package_use":
            c["package_uses"] += e["uses"]
    return c


def _stored_value(c: Counter, kind: str, e: dict) -> None:
    total = e["principal"] + e["bonus"]
    if kind == "topup":
        return                           # counted from the "topup" effect (principal and bonus)
    if kind in _SV_OUT:
        c[_SV_OUT[kind]] -= total
    elif kind == "refund":
        c["sv_refunded_fen"] += total
    elif kind.startswith("import"):
        c["sv_imported_fen"] += total
    elif total < 0:
        c["sv_spent_principal_fen"] -= e["principal"]
        c["sv_spent_bonus_fen"] -= e["bonus"]


def summary(conn, period: Period) -> dict:
    """Figures for ``period`` chain-wide, per store, per cashier (store/operator) and per day."""
    chain, stores, cashiers, days = Counter(), defaultdict(Counter), defaultdict(Counter), defaultdict(Counter)
    gifts: Counter = Counter()
    zone = ZoneInfo(period.tz)
    for record in records_between(conn, period.start, period.end):
        figures = figures_of(record)
        if not figures:
            continue
        store = record["store_id"]
        chain.update(figures)
        stores[store].update(figures)
        cashiers[(store, record["operator"])].update(figures)
        days[local_day(record["at"], zone).isoformat()].update(figures)
        if record["kind"] == "redeem":
            gifts[(store, record["data"].get("sku", "?"))] += 1
    stock = {(s, sku): n for s, sku, n in conn.execute("SELECT store_id, sku, stock FROM stock").fetchall()}
    return {
        "period": period.label, "from": period.first.isoformat(), "to": period.last.isoformat(), "tz": period.tz,
        "chain": _full(chain),
        "stores": {s: _full(f) for s, f in sorted(stores.items())},
        "cashiers": [{"store_id": s, "operator": o, **_full(f)} for (s, o), f in sorted(cashiers.items())],
        "days": {d: _full(f) for d, f in sorted(days.items())},
        "gifts": [{"store_id": s, "sku": sku, "redeemed": gifts.get((s, sku), 0), "stock_now": stock.get((s, sku), 0)}
                  for s, sku in sorted(set(gifts) | set(stock))],
    }


def _full(figures: Counter) -> dict:
    return {key: figures.get(key, 0) for key in FIGURE_KEYS}


def summary_tables(report: dict, lang: str = "en") -> list[Table]:
    """Figures down, chain and stores across; then cashiers; then gifts."""
    label = {k: (zh if lang == "zh" else en) for k, en, zh in FIGURES}
    stores = list(report["stores"])
    first = Table(f"Summary {report['period']} ({report['tz']})", ["figure", "chain", *stores],
                  [[label[k], report["chain"][k], *(report["stores"][s][k] for s in stores)] for k in FIGURE_KEYS])
    cashier_cols = ["purchases", "payable_fen", "sv_topups", "sv_topped_up_principal_fen", "refunds",
                    "refunded_fen", "new_members", "points_issued", "gifts_redeemed"]
    cashiers = Table("Per cashier", ["store_id", "operator", *cashier_cols],
                     [[c["store_id"], c["operator"], *(c[k] for k in cashier_cols)] for c in report["cashiers"]])
    gifts = Table("Gifts", ["store_id", "sku", "redeemed", "stock_now"],
                  [[g["store_id"], g["sku"], g["redeemed"], g["stock_now"]] for g in report["gifts"]])
    return [first, cashiers, gifts]
