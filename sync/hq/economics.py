"""What a record's effects do to the accounts, as amounts per account, so a kiosk's effects and head
office's re-derived ones can be compared: points earned and spent, stored-value principal and bonus,
coupons, package uses, gift stock, qualifying spend and the books behind refunds and undos.

Lot, coupon and package identities are left out (a kiosk and head office may draw different lots
for the same spend); a coupon or package is counted by its member and code instead.
"""
from __future__ import annotations

from collections import Counter

Account = tuple


def economics(conn, record: dict, effects: list[dict] | None = None) -> dict[Account, int]:
    """Every account ``effects`` (default: the record's) change, with the amount (zeros left out)."""
    out: Counter = Counter()
    for e in record["effects"] if effects is None else effects:
        for account, amount in _accounts(conn, record, e):
            out[account] += amount
    return {account: amount for account, amount in out.items() if amount}


def differences(claimed: dict, derived: dict) -> list[str]:
    """The accounts on which two summaries disagree, readable (``points+ M1: 500 vs 50``)."""
    keys = sorted(set(claimed) | set(derived), key=repr)
    return [f"{' '.join(map(str, k))}: {claimed.get(k, 0)} vs {derived.get(k, 0)}" for k in keys
            if claimed.get(k, 0) != derived.get(k, 0)]


def _accounts(conn, record: dict, e: dict):     # noqa: C901 (one branch per effect, read top to bottom)
    op, member = e["op"], e.get("member_id")
    if op == "lot.add":
        yield ("points+", member), e["points"]
        yield ("expiring", member, e.get("expires_on")), e["points"]
    elif op == "lot.take":
        yield ("points-", member), e["points"]
    elif op == "debt":      # repaying a debt is earning, a new debt is spending
        yield ("points+" if e["delta"] < 0 else "points-", member), abs(e["delta"])
    elif op == "sv":
        yield ("principal", member), e["principal"]
        yield ("bonus", member), e["bonus"]
    elif op == "qualify":
        yield ("qualify", member), e["amount"]
    elif op == "coupon.add":
        yield ("coupon+", member, e["code"], e["valid_until"]), 1
    elif op == "coupon.use":
        row = conn.execute("SELECT member_id, code FROM coupons WHERE coupon_id = ?", (e["coupon_id"],)).fetchone()
        yield ("coupon-", *(row or ("?", e["coupon_id"]))), 1
    elif op == "coupon.claim":
        yield ("claim", e["campaign"], e["serial"], member), e["fen"]
    elif op == "package.add":
        yield ("package+", member, e["code"], e["expires_on"]), e["uses"]
    elif op == "package.take":
        row = conn.execute("SELECT member_id, code FROM packages WHERE package_id = ?", (e["package_id"],)).fetchone()
        yield ("package-", *(row or ("?", e["package_id"])), e.get("status", "active")), e["uses"]
    elif op == "stock":
        store = e.get("store_id", record["store_id"])
        yield (("stock.set", store, e["sku"]), e["set"]) if "set" in e else (("stock", store, e["sku"]), e["delta"])
    elif op == "purchase":
        for field in ("payable_fen", "sv_principal_fen", "sv_bonus_fen", "points_earned", "points_cash"):
            yield ("purchase", member, field), e[field]
    elif op == "purchase.refund":
        for field in ("fen", "points", "points_cash"):
            yield ("refund", e["purchase_tx"], field), e[field]
    elif op == "topup":
        yield ("topup", member, "principal"), e["principal"]
        yield ("topup", member, "bonus"), e["bonus"]
    elif op == "topup.undo":
        yield ("topup.undo", e["topup_tx"]), 1
    elif op == "receipt":
        yield ("receipt", e["receipt"], member), e["points"]
    elif op == "checkin":
        yield ("checkin", member, e["day"]), 1
    elif op == "benefit":
        yield ("benefit", member, e["kind"], e["period"]), 1
    elif op == "instalment.add":
        part = ("instalment", member, e["part"], e["due_on"], e["coupon"], e["package"], bool(e["paid"]))
        yield (*part, "bonus_fen"), e["bonus_fen"] + 1     # +1: a part giving nothing still counts
        yield (*part, "points"), e["points"]
    elif op in ("instalment.pay", "instalment.cancel"):
        yield (op, e["topup_tx"], e["part"]), 1
    elif op == "points.move":
        yield ("move", e["kind"], e["from_member"], e.get("to_member"), e["day"]), e["points"]
        yield ("move.bonus", e["kind"], e["from_member"], e["day"]), e.get("bonus_fen", 0)
    elif op == "tier":
        yield ("tier", member, e["tier"]), 1
    elif op == "member.add":
        yield ("member.add", member, e["tier"], e.get("referrer_id")), 1
    elif op == "member.set":
        yield ("member.set", member, *sorted(e["fields"])), 1
    elif op == "member.erase":
        yield ("member.erase", member), 1
    elif op == "card.add":
        yield ("card.add", member, e["card_id"]), 1
    elif op == "card.set":
        yield ("card.set", e["card_id"], e["status"]), 1
    else:
        yield ("unknown", op), 1
