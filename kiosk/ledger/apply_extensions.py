"""Effects of the second round of rules: benefits given once per period, top-up bonus instalments,
and points moved out of a member's lots (into stored value, or to another member).

Like every effect they are deterministic, so a replay rebuilds the same projections; a benefit or
instalment paid twice (two offline kiosks, or a kiosk and head office's run) is a shortfall that
head office reports, never a silent second payment in its books.
"""
from __future__ import annotations

from .apply import handles


@handles("benefit")
def _benefit(conn, record, e, shortfalls):
    cursor = conn.execute("INSERT INTO benefits (member_id, kind, period, tx_id) VALUES (?, ?, ?, ?)"
                          " ON CONFLICT (member_id, kind, period) DO NOTHING",
                          (e["member_id"], e["kind"], e["period"], record["tx_id"]))
    if cursor.rowcount == 0:
        shortfalls.append({"what": "benefit", "member_id": e["member_id"], "kind": e["kind"], "period": e["period"]})


@handles("instalment.add")
def _instalment_add(conn, record, e, _):
    conn.execute("INSERT INTO instalments (topup_tx, part, member_id, due_on, bonus_fen, points, coupon, package,"
                 " status, paid_tx) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 (record["tx_id"], e["part"], e["member_id"], e["due_on"], e["bonus_fen"], e["points"], e["coupon"],
                  e["package"], "paid" if e["paid"] else "due", record["tx_id"] if e["paid"] else None))


def _settle(conn, record, e, shortfalls, status: str, paid_tx) -> None:
    cursor = conn.execute("UPDATE instalments SET status = ?, paid_tx = ? WHERE topup_tx = ? AND part = ?"
                          " AND status = 'due'", (status, paid_tx, e["topup_tx"], e["part"]))
    if cursor.rowcount == 0:
        shortfalls.append({"what": "instalment", "topup_tx": e["topup_tx"], "part": e["part"], "not": "due"})


@handles("instalment.pay")
def _instalment_pay(conn, record, e, shortfalls):
    _settle(conn, record, e, shortfalls, "paid", record["tx_id"])


@handles("instalment.cancel")
def _instalment_cancel(conn, record, e, shortfalls):
    _settle(conn, record, e, shortfalls, "cancelled", None)


@handles("points.move")
def _points_move(conn, record, e, _):
    conn.execute("INSERT INTO point_moves (tx_id, kind, from_member, to_member, day, points, bonus_fen)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?)", (record["tx_id"], e["kind"], e["from_member"], e.get("to_member"),
                                                   e["day"], e["points"], e.get("bonus_fen", 0)))
