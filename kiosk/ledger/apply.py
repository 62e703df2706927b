"""Effects: the only way projections change. Each journal record carries its effects in order.

Applying a record's effects to the projections is deterministic, so replaying the journal
from empty rebuilds every balance (:mod:`kiosk.ledger.verify`). On the kiosk an impossible
effect (taking more points than a lot holds) is a bug and raises :class:`Overdraft`. Head office
applies leniently: it takes what is there and reports the shortfall, which becomes a debt.
"""
from __future__ import annotations

import sqlite3
from typing import Callable

from . import keyed, pii


class Overdraft(Exception):
    """An effect took more than there was; strict mode refuses the whole transaction."""


Handler = Callable[[sqlite3.Connection, dict, dict, list], None]
HANDLERS: dict[str, Handler] = {}


def handles(op: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[op] = fn
        return fn
    return register


def apply_effects(conn: sqlite3.Connection, record: dict, *, strict: bool = True) -> list[dict]:
    """Apply every effect of ``record``; return the shortfalls (empty unless lenient)."""
    shortfalls: list[dict] = []
    for effect in record["effects"]:
        apply_effect(conn, record, effect, shortfalls)
    if strict and shortfalls:
        raise Overdraft(f"{record['tx_id']}: {shortfalls}")
    return shortfalls


def apply_effect(conn: sqlite3.Connection, record: dict, effect: dict, shortfalls: list) -> None:
    try:
        handler = HANDLERS[effect["op"]]
    except KeyError:
        raise ValueError(f"unknown effect {effect.get('op')!r} in {record.get('tx_id')}") from None
    handler(conn, record, effect, shortfalls)


@handles("member.add")
def _member_add(conn, record, e, _):
    conn.execute(
        keyed.ADD_MEMBER,
        (e["member_id"], e["name"], e["phone"], e.get("birthday"), e.get("referrer_id"), record["at"],
         e["tier"], record["at"]))


_MEMBER_FIELDS = {"name", "phone", "birthday", "status", "first_purchase_tx"}


@handles("member.set")
def _member_set(conn, record, e, _):
    fields = {k: v for k, v in e["fields"].items() if k in _MEMBER_FIELDS}
    assert fields.keys() == e["fields"].keys(), f"unknown member field in {e}"
    conn.execute(keyed.set_member(fields), (*fields.values(), e["member_id"]))


@handles("member.erase")
def _member_erase(conn, record, e, _):
    """Erasure: the ciphertext leaves the member table and the data key is destroyed (the journal's
    copies stay, unreadable); balances, cards and history are untouched."""
    conn.execute("UPDATE members SET name = '', phone = '', birthday = NULL WHERE member_id = ?", (e["member_id"],))
    pii.erase(conn, e["member_id"])


@handles("tier")
def _tier(conn, record, e, _):
    conn.execute(keyed.SET_TIER, (e["tier"], record["at"], e["member_id"]))


@handles("card.add")
def _card_add(conn, record, e, shortfalls):
    """A member has one live card: a second one (two offline kiosks replacing the same card) is void."""
    live = conn.execute(keyed.ACTIVE_CARDS, (e["member_id"],)).fetchone()
    if live:
        shortfalls.append({"what": "card", "card_id": e["card_id"], "member_id": e["member_id"], "live_card": live[0]})
    conn.execute(keyed.ADD_CARD, (e["card_id"], e["member_id"], "void" if live else "active", record["at"]))


@handles("card.set")
def _card_set(conn, record, e, _):
    conn.execute(keyed.SET_CARD_STATUS, (e["status"], e["card_id"]))


@handles("lot.add")
def _lot_add(conn, record, e, _):
    conn.execute(keyed.ADD_LOT, (e["member_id"], e["lot_id"], record["at"], e.get("expires_on"), e["points"],
                                 e["points"]))


@handles("lot.take")
def _lot_take(conn, record, e, shortfalls):
    key = (e["member_id"], e["lot_id"])
    row = conn.execute(keyed.LOT_LEFT, key).fetchone()
    have = row[0] if row else 0
    taken = min(have, e["points"])
    if taken:
        conn.execute(keyed.TAKE_FROM_LOT, (taken, *key))
    if taken < e["points"]:
        short = e["points"] - taken
        shortfalls.append({"what": "points", "member_id": e["member_id"], "lot_id": e["lot_id"], "short": short})
        conn.execute(keyed.ADD_DEBT, (short, e["member_id"]))


@handles("debt")
def _debt(conn, record, e, _):
    conn.execute(keyed.ADD_DEBT, (e["delta"], e["member_id"]))


@handles("sv")
def _stored_value(conn, record, e, shortfalls):
    row = conn.execute(keyed.STORED_VALUE, (e["member_id"],)).fetchone()
    principal, bonus = row or (0, 0)        # a member this kiosk does not hold (docs/personal-data.md)
    if principal + e["principal"] < 0 or bonus + e["bonus"] < 0:
        shortfalls.append({"what": "stored_value", "member_id": e["member_id"],
                           "short": -min(0, principal + e["principal"]) - min(0, bonus + e["bonus"])})
    conn.execute(keyed.ADD_STORED_VALUE, (e["principal"], e["bonus"], e["member_id"]))
    if e["principal"] + e["bonus"] < 0:
        conn.execute(keyed.ADD_SPEND, (record["tx_id"], e["member_id"], record["at"]))


@handles("qualify")
def _qualify(conn, record, e, _):
    conn.execute(keyed.ADD_QUALIFYING, (e["member_id"], e.get("at", record["at"]), record["tx_id"], e["amount"]))


@handles("checkin")
def _checkin(conn, record, e, _):
    conn.execute(keyed.ADD_CHECKIN, (e["member_id"], e["day"]))


@handles("package.add")
def _package_add(conn, record, e, _):
    conn.execute(keyed.ADD_PACKAGE, (e["package_id"], e["member_id"], e["code"], e["name"], e["uses"], e["uses"],
                                     e["expires_on"]))


@handles("package.take")
def _package_take(conn, record, e, shortfalls):
    row = conn.execute(keyed.PACKAGE_LEFT, (e["package_id"],)).fetchone()
    have = row[0] if row else 0             # sold before this kiosk held the member
    taken = min(have, e["uses"])
    if taken < e["uses"]:
        shortfalls.append({"what": "package_uses", "package_id": e["package_id"], "short": e["uses"] - taken})
    conn.execute(keyed.TAKE_FROM_PACKAGE, (taken, e.get("status", "active"), e["package_id"]))


@handles("coupon.add")
def _coupon_add(conn, record, e, _):
    conn.execute(keyed.ADD_COUPON, (e["coupon_id"], e["member_id"], e["code"], record["at"], e["valid_until"]))


@handles("coupon.use")
def _coupon_use(conn, record, e, shortfalls):
    row = conn.execute(keyed.COUPON_USED, (e["coupon_id"],)).fetchone()
    if row is None or row[0] is not None:   # issued before this kiosk held the member, or used before
        shortfalls.append({"what": "coupon", "coupon_id": e["coupon_id"], "used_by": row[0] if row else None})
        return
    conn.execute(keyed.USE_COUPON, (record["tx_id"], e["coupon_id"]))


@handles("stock")
def _stock(conn, record, e, shortfalls):
    store = e.get("store_id", record["store_id"])
    if "set" in e:
        conn.execute("INSERT INTO stock (store_id, sku, stock) VALUES (?, ?, ?)"
                     " ON CONFLICT (store_id, sku) DO UPDATE SET stock = excluded.stock", (store, e["sku"], e["set"]))
        return
    row = conn.execute("SELECT stock FROM stock WHERE store_id = ? AND sku = ?", (store, e["sku"])).fetchone()
    have = row[0] if row else 0
    if have + e["delta"] < 0:
        shortfalls.append({"what": "stock", "sku": e["sku"], "short": -(have + e["delta"])})
    conn.execute("INSERT INTO stock (store_id, sku, stock) VALUES (?, ?, ?)"
                 " ON CONFLICT (store_id, sku) DO UPDATE SET stock = excluded.stock",
                 (store, e["sku"], max(0, have + e["delta"])))


@handles("purchase")
def _purchase(conn, record, e, _):
    conn.execute("INSERT INTO purchases (tx_id, member_id, payable_fen, sv_principal_fen, sv_bonus_fen,"
                 " points_earned, points_cash, lot_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 (record["tx_id"], e["member_id"], e["payable_fen"], e["sv_principal_fen"], e["sv_bonus_fen"],
                  e["points_earned"], e["points_cash"], e.get("lot_id")))


@handles("purchase.refund")
def _purchase_refund(conn, record, e, _):
    conn.execute("UPDATE purchases SET refunded_fen = refunded_fen + ?, points_clawed = points_clawed + ?,"
                 " points_cash_returned = points_cash_returned + ? WHERE tx_id = ?",
                 (e["fen"], e["points"], e["points_cash"], e["purchase_tx"]))


def _claimed_before(conn, record: dict, table: str, key: dict, member_id: str) -> bool:
    """Record a claim that counts once chain-wide (a receipt, a printed coupon); True when an
    earlier claim holds it (two offline kiosks): the caller then books what was taken as a debt."""
    columns = [*key, "member_id", "tx_id"]
    cursor = conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                          " ON CONFLICT DO NOTHING", (*key.values(), member_id, record["tx_id"]))
    return cursor.rowcount == 0


@handles("receipt")
def _receipt(conn, record, e, shortfalls):
    """A second claim of one receipt owes its points back (a points debt)."""
    if _claimed_before(conn, record, "receipt_claims", {"receipt": e["receipt"]}, e["member_id"]):
        shortfalls.append({"what": "receipt", "receipt": e["receipt"], "member_id": e["member_id"],
                           "short": e["points"]})
        conn.execute("UPDATE members SET points_debt = points_debt + ? WHERE member_id = ?",
                     (e["points"], e["member_id"]))


@handles("coupon.claim")
def _coupon_claim(conn, record, e, shortfalls):
    """A second use of one printed coupon owes its discount back (a stored-value debt)."""
    key = {"campaign": e["campaign"], "serial": e["serial"]}
    if _claimed_before(conn, record, "coupon_claims", key, e["member_id"]):
        shortfalls.append({"what": "coupon", **key, "member_id": e["member_id"], "short": e["fen"]})
        conn.execute("UPDATE members SET principal_fen = principal_fen - ? WHERE member_id = ?",
                     (e["fen"], e["member_id"]))


@handles("topup")
def _topup(conn, record, e, _):
    conn.execute("INSERT INTO topups (tx_id, member_id, principal_fen, bonus_fen, at) VALUES (?, ?, ?, ?, ?)",
                 (record["tx_id"], e["member_id"], e["principal"], e["bonus"], record["at"]))


@handles("topup.undo")
def _topup_undo(conn, record, e, _):
    conn.execute("UPDATE topups SET undone_by = ? WHERE tx_id = ?", (record["tx_id"], e["topup_tx"]))


from . import apply_extensions  # noqa: E402,F401  (registers the second-round effects)
