"""Churn scoring on a generated chain and win-back coupons that reach the kiosks once."""
from __future__ import annotations

import statistics
from bisect import bisect_left, bisect_right
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from kiosk.ledger.dates import from_utc_text
from sync.hq.churn import at_risk, score, segment_of, win_back
from sync.hq.db import Db
from sync.hq.generate import ChainSpec, generate
from sync.hq.notify import outbox

AS_OF = datetime(2026, 4, 1, tzinfo=timezone.utc)


@pytest.fixture
def generated(tmp_path):
    db = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    generate(db, ChainSpec(members=300, days=90, start=date(2026, 1, 1), seed=3, churn_share=0.4))
    yield db
    db.close()


def test_at_risk_means_a_gap_past_a_multiple_of_the_members_own_interval(generated):
    members = score(generated.conn, AS_OF, multiple=2.0)
    assert len(members) > 200
    assert {m["segment"] for m in members} >= {"champions", "at_risk", "hibernating"}
    for m in members:
        assert m["at_risk"] == (m["gap_days"] > 2.0 * max(m["usual_interval_days"], 1.0) + 0.05) or \
            abs(m["gap_days"] - 2.0 * m["usual_interval_days"]) < 0.1
        assert 1 <= m["r"] <= 5 and 1 <= m["f"] <= 5 and 1 <= m["m"] <= 5
    risky = at_risk(generated.conn, AS_OF, multiple=2.0)
    assert 0 < len(risky) < len(members)
    assert [m["value_fen"] for m in risky] == sorted((m["value_fen"] for m in risky), reverse=True)
    fewer = at_risk(generated.conn, AS_OF, multiple=4.0)
    assert {m["member_id"] for m in fewer} < {m["member_id"] for m in risky}
    # recency orders the R score: the most recent visitor scores at least as high as the oldest
    by_gap = sorted(members, key=lambda m: m["gap_days"])
    assert by_gap[0]["r"] >= by_gap[-1]["r"]


def reference_scores(conn, as_of: datetime, multiple: float) -> list[dict]:
    """The same scores computed a second way: every member's purchases read one by one into Python."""
    visits: dict[str, list[datetime]] = {}
    for member_id, at in conn.execute("SELECT member_id, at FROM journal WHERE kind = 'purchase'"):
        if from_utc_text(at) < as_of:
            visits.setdefault(member_id, []).append(from_utc_text(at))
    closed = {m for (m,) in conn.execute("SELECT member_id FROM members WHERE status != 'active'")}
    value = {m: 0 for m in visits}
    for member_id, payable, refunded in conn.execute("SELECT member_id, payable_fen, refunded_fen FROM purchases"):
        value[member_id] = value.get(member_id, 0) + payable - refunded
    members = sorted(m for m in visits if m not in closed)
    own = {m: (max(visits[m]) - min(visits[m])).total_seconds() / 86400 / (len(visits[m]) - 1)
           for m in members if len(visits[m]) > 1 and max(visits[m]) > min(visits[m])}
    chain = statistics.median(own.values()) if own else 30.0

    def quintiles(values):
        ordered, n = sorted(values), len(values)
        return [1 + (bisect_left(ordered, v) + bisect_right(ordered, v)) * 5 // (2 * n) for v in values]
    rs = quintiles([max(visits[m]) for m in members])
    fs = quintiles([len(visits[m]) for m in members])
    ms = quintiles([value[m] for m in members])
    out = []
    for m, r, f, mon in zip(members, rs, fs, ms):
        usual, gap = own.get(m, chain), (as_of - max(visits[m])).total_seconds() / 86400
        out.append({"member_id": m, "segment": segment_of(r, f), "r": r, "f": f, "m": mon, "visits": len(visits[m]),
                    "value_fen": value[m],
                    "last_visit": max(visits[m]).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat(),
                    "usual_interval_days": round(usual, 1), "gap_days": round(gap, 1),
                    "interval_basis": "own" if m in own else "chain", "at_risk": gap > multiple * max(usual, 1.0)})
    return out


def test_the_set_based_scores_equal_a_member_by_member_recomputation(generated):
    generated.conn.execute("UPDATE members SET status = 'closed' WHERE member_id IN"
                           " (SELECT member_id FROM members ORDER BY member_id LIMIT 3)")
    for multiple in (1.5, 3.0):
        expected = reference_scores(generated.conn, AS_OF, multiple)
        assert score(generated.conn, AS_OF, multiple=multiple) == expected
        risky = sorted((m for m in expected if m["at_risk"]), key=lambda m: (-m["value_fen"], m["member_id"]))
        assert at_risk(generated.conn, AS_OF, multiple=multiple) == risky


def test_win_back_issues_a_coupon_once_per_campaign_and_queues_a_notification(generated):
    risky = at_risk(generated.conn, AS_OF, segment="at_risk")[:5]
    assert risky
    first = win_back(generated, risky, coupon="V20", campaign="spring", now=AS_OF)
    assert len(first["issued"]) == len(risky) and first["already"] == 0
    again = win_back(generated, risky, coupon="V20", campaign="spring", now=AS_OF)
    assert again["issued"] == [] and again["already"] == len(risky)
    coupons = generated.conn.execute("SELECT member_id, code, valid_until FROM coupons ORDER BY member_id").fetchall()
    assert sorted(c[0] for c in coupons) == sorted(m["member_id"] for m in risky)
    assert {c[2] for c in coupons} == {"2026-04-30"}            # 30 days from 1 April (Shanghai)
    feed = generated.conn.execute("SELECT COUNT(*) FROM journal WHERE kiosk_id = 'hq' AND kind = 'coupon_issue'")
    assert feed.fetchone() == (len(risky),)
    assert [n["kind"] for n in outbox(generated.conn)] == ["winback"] * len(risky)
    with pytest.raises(ValueError, match="NOPE"):
        win_back(generated, risky, coupon="NOPE", campaign="x", now=AS_OF)
