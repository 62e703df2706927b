"""Churn warning (流失预警): RFM scores per member and who is at risk of not coming back.

Each member's *usual interval* is the mean gap between their purchases (visits counted up to
``as_of``; value is their net spend to date, refunds deducted); a member whose gap since
the last purchase exceeds ``multiple`` times their usual interval is at risk. Members with one
purchase have no interval of their own and are measured against the chain's median interval.
Win-back offers are coupons issued by head office to a segment (journaled, fed to kiosks) plus a
notification in the outbox.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.ledger.dates import from_utc_text, to_utc_text

from .db import Db
from .ingest import Ingest
from .opsdb import done_before, home_store, mark_done
from .notify import queue
from .output import Table, table_from_dicts
from .reports.liability import hub_rules

SEGMENTS = ("champions", "loyal", "promising", "at_risk", "hibernating", "needs_attention")
_SECONDS = {   # seconds from UTC instant text b to a, in each dialect (SQLite's julianday kept to the millisecond)
    "sqlite": "ROUND((julianday({a}) - julianday({b})) * 86400.0, 3)",
    "postgresql": "CAST(EXTRACT(EPOCH FROM CAST({a} AS timestamptz) - CAST({b} AS timestamptz)) AS double precision)",
}


def _quintile(column: str) -> str:
    """Quintile score 1..5 of ``column`` among all members; ties share the score of their middle rank
    (RANK() - 1 members below, COUNT(*) up to the peers included at or below)."""
    return (f"1 + (RANK() OVER (ORDER BY {column}) - 1 + COUNT(*) OVER (ORDER BY {column}))"
            " * 5 / (2 * COUNT(*) OVER ())")


def _scoring_sql(dialect: str) -> str:
    """One set-based query: visits, value, own and chain-median intervals, gap, RFM and the risk flag."""
    def days(a, b):
        return f"{_SECONDS[dialect].format(a=a, b=b)} / 86400.0"
    return f"""
    WITH visits AS (
        SELECT member_id, COUNT(*) AS visits, MIN(at) AS first_at, MAX(at) AS last_at
        FROM journal WHERE kind = 'purchase' AND at < ? GROUP BY member_id),
    spent AS (SELECT member_id, SUM(payable_fen - refunded_fen) AS value FROM purchases GROUP BY member_id),
    base AS (
        SELECT v.member_id, v.visits, v.last_at, COALESCE(s.value, 0) AS value,
               CASE WHEN v.visits > 1 AND v.last_at > v.first_at
                    THEN {days("v.last_at", "v.first_at")} / (v.visits - 1) END AS own,
               {days("?", "v.last_at")} AS gap
        FROM visits v LEFT JOIN spent s ON s.member_id = v.member_id
        WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.member_id = v.member_id AND m.status <> 'active')),
    ordered AS (SELECT own, ROW_NUMBER() OVER (ORDER BY own) AS n, COUNT(*) OVER () AS total
                FROM base WHERE own IS NOT NULL),
    chain AS (SELECT COALESCE(AVG(own), 30.0) AS usual FROM ordered WHERE n IN ((total + 1) / 2, (total + 2) / 2)),
    scored AS (
        SELECT b.member_id, b.visits, b.last_at, b.value, COALESCE(b.own, c.usual) AS usual, b.gap,
               CASE WHEN b.own IS NULL THEN 'chain' ELSE 'own' END AS basis,
               {_quintile("b.last_at")} AS r, {_quintile("b.visits")} AS f, {_quintile("b.value")} AS m
        FROM base b CROSS JOIN chain c)
    SELECT member_id, visits, last_at, value, usual, gap, basis, r, f, m,
           CASE WHEN gap > ? * (CASE WHEN usual > 1.0 THEN usual ELSE 1.0 END) THEN 1 ELSE 0 END AS risky
    FROM scored"""


def segment_of(r: int, f: int) -> str:
    if r >= 4 and f >= 4:
        return "champions"
    if f >= 4:
        return "loyal" if r >= 3 else "at_risk"
    if r >= 4:
        return "promising"
    if r <= 2 and f >= 3:
        return "at_risk"
    if r <= 2:
        return "hibernating"
    return "needs_attention"


def score(conn, as_of: datetime, *, multiple: float = 2.0, tz: str = "Asia/Shanghai",
          only_at_risk: bool = False) -> list[dict]:
    """RFM and risk of every active member with a purchase before ``as_of`` (or only those at risk,
    most valuable first). The database does the work in one query with window functions; Python
    only names the segment and the local day of the last visit."""
    zone, instant = ZoneInfo(tz), to_utc_text(as_of)
    sql = _scoring_sql(getattr(conn, "dialect", "sqlite"))
    sql = (f"SELECT * FROM ({sql}) t WHERE risky = 1 ORDER BY value DESC, member_id" if only_at_risk
           else f"{sql} ORDER BY member_id")
    rows = conn.execute(sql, (instant, instant, float(multiple))).fetchall()
    return [{"member_id": member_id, "segment": segment_of(r, f), "r": r, "f": f, "m": m, "visits": visits,
             "value_fen": int(value), "last_visit": from_utc_text(last).astimezone(zone).date().isoformat(),
             "usual_interval_days": round(float(usual), 1), "gap_days": round(float(gap), 1),
             "interval_basis": basis, "at_risk": bool(risky)}
            for member_id, visits, last, value, usual, gap, basis, r, f, m, risky in rows]


def at_risk(conn, as_of: datetime, *, multiple: float = 2.0, segment: str | None = None,
            tz: str = "Asia/Shanghai") -> list[dict]:
    """The members at risk (optionally of one segment), most valuable first."""
    return [m for m in score(conn, as_of, multiple=multiple, tz=tz, only_at_risk=True)
            if segment is None or m["segment"] == segment]


CHURN_COLUMNS = ["member_id", "segment", "last_visit", "usual_interval_days", "gap_days", "visits", "value_fen",
                 "r", "f", "m", "interval_basis"]


def churn_tables(members: list[dict]) -> list[Table]:
    return [table_from_dicts(f"{len(members)} member(s) at risk", members, CHURN_COLUMNS)]


def win_back(db: Db, members: list[dict], *, coupon: str, campaign: str, now: datetime,
             tz: str = "Asia/Shanghai", operator: str = "hq") -> dict:
    """Issue ``coupon`` to each member once per ``campaign`` (journaled head-office transactions that
    reach the kiosks through the feed) and queue a win-back notification for each."""
    rules = hub_rules(db.conn)
    plan = rules.coupon(coupon)
    if plan is None:
        raise ValueError(f"coupon {coupon!r} is not defined in the rules")
    local_day = now.astimezone(ZoneInfo(tz)).date()
    until = (local_day + timedelta(days=plan.valid_days - 1)).isoformat()
    ingest, issued, skipped = Ingest(db), [], 0
    at = to_utc_text(now)
    with db.transaction():
        for m in members:
            key = f"{campaign}:{m['member_id']}"
            if done_before(db.conn, "winback", key):
                skipped += 1
                continue
            store = home_store(db.conn, m["member_id"])
            tx_id = ingest.new_tx_id()
            record = ingest.originate_within(
                "coupon_issue", [{"op": "coupon.add", "coupon_id": f"{tx_id}:c", "member_id": m["member_id"],
                                  "code": coupon, "valid_until": until}],
                store_id=store, operator=operator, member_id=m["member_id"], reason=f"win-back {campaign}",
                data={"code": coupon, "campaign": campaign}, at=at, tx_id=tx_id)
            mark_done(db.conn, "winback", key, record["tx_id"], at)
            queue(db.conn, f"winback:{key}", "winback", m["member_id"],
                  {"coupon": coupon, "coupon_name": plan.name, "valid_until": until}, now)
            issued.append({"member_id": m["member_id"], "tx_id": record["tx_id"], "coupon": coupon,
                           "valid_until": until})
    return {"campaign": campaign, "coupon": coupon, "issued": issued, "already": skipped}

