"""The spend guard inside the ledger: asked before the write lock, re-checked inside it, the offline
allowance committed with the transaction or not at all."""
from __future__ import annotations

import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from kiosk.ledger import InvalidInput, Ledger, OfflineLimitsGuard, Refused, Spends, lines_from_amount
from kiosk.ledger.clock import FixedClock
from kiosk.ledger.migrations import statements
from kiosk.ledger.rules import PackagePlan
from kiosk.ledger.schema import OFFLINE_DDL
from tests.spending import FULL, SPENDS, ZERO, enrol, prepare, written

LIMITS = {"version": 3, "window_hours": 24,
          "fen": {"per_tx": 1000, "member_day": 1500, "kiosk_total": 100000},
          "points": {"per_tx": 5000, "member_day": 10000, "kiosk_total": 100000},
          "uses": {"per_tx": 1, "member_day": 1, "kiosk_total": 10}}


@pytest.fixture
def path(tmp_path):
    prepare(tmp_path / "k.db")
    return tmp_path / "k.db"


def test_points_approved_then_stored_value_refused_writes_nothing(path):
    """The issue's reproduction: the whole purchase is judged at once, so the points' allowance is
    not consumed when the stored value is refused."""
    enrol(path, LIMITS)
    with Ledger(path) as led:
        before, points = written(led), led.member_view("A")["points"]
        with pytest.raises(Refused) as refused:
            led.purchase("A", lines_from_amount(10000), points_cash=200, pay="stored-value", operator="admin")
        assert refused.value.code == "offline_limit_per_transaction"
        assert written(led) == before and led.member_view("A")["points"] == points


@pytest.mark.parametrize("name", sorted(SPENDS))
def test_every_spend_is_refused_past_the_offline_limits_and_writes_nothing(path, name):
    enrol(path, ZERO)
    with Ledger(path) as led:
        before = written(led)
        with pytest.raises(Refused) as refused:
            SPENDS[name][0](led)
        assert refused.value.code == "offline_limit_per_transaction"
        assert written(led) == before


@pytest.mark.parametrize("name", sorted(SPENDS))
def test_every_spend_within_the_limits_commits_its_allowance_with_it(path, name):
    enrol(path, {**ZERO, **{unit: {"per_tx": 10**6, "member_day": 10**6, "kiosk_total": 10**6}
                            for unit in ("fen", "points", "uses")}})
    with Ledger(path) as led:
        done = SPENDS[name][0](led)
        (tx_ids,) = {tuple(r) for r in led.conn.execute("SELECT DISTINCT tx_id FROM offline_allowances")}
        assert tx_ids == (done["tx_id"],)


def test_a_standalone_ledger_has_no_one_to_ask_and_no_limits(path):
    with Ledger(path) as led:
        led.purchase("A", lines_from_amount(100000), pay="stored-value", operator="admin")
        assert written(led)[1] == 0


def test_an_enrolled_ledger_refuses_spends_out_of_contact(path, clock):
    enrol(path, LIMITS)
    later = FixedClock(clock.now() + timedelta(hours=25))
    with Ledger(path, clock=later) as led:
        with pytest.raises(Refused, match="offline_window_passed"):
            led.redeem("A", "GIFT-MUG", operator="admin")
    with Ledger(path) as led:      # a restored copy: head office's limits stay, the contact is the old kiosk's
        led.conn.execute("DELETE FROM meta WHERE key = 'hq_contact'")
        with pytest.raises(Refused, match="offline_never_synced"):
            led.redeem("A", "GIFT-MUG", operator="admin")


def test_an_operation_failing_after_the_check_consumes_no_allowance(path):
    enrol(path, LIMITS)
    with Ledger(path) as led:
        with pytest.raises(InvalidInput):
            led.transfer_points("A", "A", 100, operator="admin")
        assert written(led)[1] == 0


class Meanwhile:
    """Approves like the offline limits, then lets another process write before the lock is taken."""

    def __init__(self, change):
        self.change, self.offline = change, OfflineLimitsGuard()

    def approve(self, ledger, member, card_id, spends):
        approval = self.offline.approve(ledger, member, card_id, spends)
        self.change()
        return approval


def test_a_spend_that_grew_after_its_approval_is_refused(path):
    enrol(path, LIMITS)
    dearer = FULL.replace('sku = "GIFT-MUG"\nname = "Mug"\nname_zh = "马克杯"\npoints = 800',
                          'sku = "GIFT-MUG"\nname = "Mug"\nname_zh = "马克杯"\npoints = 900')
    assert dearer != FULL

    def new_rules():
        with Ledger(path) as other:
            other.set_rules(dearer)       # head office pushes dearer rules meanwhile
    with Ledger(path, guard=Meanwhile(new_rules)) as led:
        before = written(led)
        with pytest.raises(Refused) as refused:
            led.redeem("A", "GIFT-MUG", operator="admin")
        assert refused.value.code == "spend_not_approved"
        assert written(led) == before


def test_two_processes_cannot_both_take_the_last_allowance(path):
    enrol(path, LIMITS)

    def other_kiosk_process():
        with Ledger(path) as other:
            other.purchase("A", lines_from_amount(1000), pay="stored-value", operator="admin")
    with Ledger(path, guard=Meanwhile(other_kiosk_process)) as led:
        with pytest.raises(Refused) as refused:        # 950 + 950 (after the tier discount) > 1500 today
            led.purchase("A", lines_from_amount(1000), pay="stored-value", operator="admin")
        assert refused.value.code == "offline_limit_member_day"
        assert led.conn.execute("SELECT COUNT(*), SUM(amount) FROM offline_allowances").fetchone() == (1, 950)


def test_spends_are_checked_and_compared_as_multisets():
    approved = Spends(points=10, coupons=("V20",), gifts=("MUG", "MUG"))
    assert Spends(points=10, gifts=("MUG", "MUG")).beyond(approved) is None
    assert Spends(coupons=("V20", "V20")).beyond(approved) == "coupons V20"
    assert Spends(points=11).beyond(approved) == "points 11 > 10"
    assert Spends.from_dict(approved.as_dict()) == approved
    for bad in ({"points": -1}, {"points": True}, {"gifts": ["x" * 81]}, {"colour": 1}):
        with pytest.raises(InvalidInput):
            Spends.from_dict(bad)


def test_head_offices_limits_are_checked_before_they_are_kept(path):
    with Ledger(path) as led:
        for bad in ({}, {"window_hours": 24}, {**LIMITS, "fen": {"per_tx": -1, "member_day": 1, "kiosk_total": 1}},
                    {**LIMITS, "window_hours": 721}):
            with pytest.raises(InvalidInput):
                led.set_offline_limits(bad)
        assert led.conn.execute("SELECT COUNT(*) FROM meta WHERE key = 'offline_limits'").fetchone() == (0,)


def test_the_sync_agents_offline_state_moves_into_the_ledger():
    """What the agent kept in its own tables before the migration is what the ledger holds after."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO sync_state VALUES ('limits', '{"window_hours": 12}'), ('last_hq_contact', '"2026-11-24T01:00:00Z"'),
                                      ('confirmed', '7');
        CREATE TABLE sync_offline_spends (auth_id TEXT PRIMARY KEY, card_id TEXT NOT NULL, member_id TEXT,
            unit TEXT NOT NULL, amount INTEGER NOT NULL, day TEXT NOT NULL, at TEXT NOT NULL);
        INSERT INTO sync_offline_spends VALUES ('a1', 'C1', 'M1', 'points', 200, '2026-11-24', '2026-11-24T01:30:00Z');
    """)
    for statement in statements(OFFLINE_DDL):
        conn.execute(statement)
    assert conn.execute("SELECT tx_id, unit, member_id, amount FROM offline_allowances").fetchall() == \
        [("a1", "points", "M1", 200)]
    assert dict(conn.execute("SELECT key, value FROM meta")) == {
        "offline_limits": '{"window_hours": 12}', "hq_contact": '"2026-11-24T01:00:00Z"',
        "hq_enrolled": '"2026-11-24T01:00:00Z"'}
    assert conn.execute("SELECT key FROM sync_state").fetchall() == [("confirmed",)]
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'sync_offline_spends'").fetchone() is None


def test_an_operator_without_the_role_is_refused_before_the_guard_is_asked(path):
    """Nobody without the role makes head office hold a member's balance."""
    asked = []
    with Ledger(path, guard=Meanwhile(lambda: asked.append(1))) as led:
        for spend in (lambda: led.close_account("A", reason="moving away", operator="self"),
                      lambda: led.redeem("A", "GIFT-MUG", operator="nobody")):
            with pytest.raises(Refused) as refused:
                spend()
            assert refused.value.code in ("forbidden", "unknown_operator")
    assert asked == []


@settings(max_examples=10, deadline=None)
@given(caps=st.tuples(*[st.integers(0, 3000)] * 3),
       buys=st.lists(st.tuples(st.sampled_from(["A", "B"]), st.integers(1, 2500)), min_size=1, max_size=6))
def test_offline_allowances_never_exceed_the_limits_and_match_what_was_spent(caps, buys):
    """Whatever is tried, what offline approval let through stays within every limit, and each
    allowance is exactly the stored value its committed purchase took."""
    per_tx, member_day, kiosk_total = caps
    with tempfile.TemporaryDirectory() as tmp:
        with Ledger.create(Path(tmp) / "k.db", kiosk_id="k1", store_id="s1") as led:
            for card, phone in (("A", "13800000001"), ("B", "13800000002")):
                led.register(name=card, phone=phone, card_id=card, operator="admin")
                led.topup(card, 10000, operator="admin")
            led.set_offline_limits({**LIMITS, "fen": {"per_tx": per_tx, "member_day": member_day,
                                                      "kiosk_total": kiosk_total}})
            led.heard_from_head_office()
            for card, fen in buys:
                try:
                    led.sell_package(card, PackagePlan("p", "P", 1, fen, 30), pay="stored-value", operator="admin")
                except Refused as exc:
                    assert exc.code.startswith("offline_limit_")
            rows = led.conn.execute("SELECT tx_id, member_id, amount FROM offline_allowances").fetchall()
            assert all(amount <= per_tx for _, _, amount in rows)
            assert sum(amount for _, _, amount in rows) <= kiosk_total
            for member in {m for _, m, _ in rows}:
                assert sum(amount for _, m, amount in rows if m == member) <= member_day
            for tx_id, _, amount in rows:
                data = led.tx_record(tx_id)["data"]
                assert data["sv_principal_fen"] + data["sv_bonus_fen"] == amount
            sold = led.conn.execute("SELECT COUNT(*) FROM journal WHERE kind = 'package_sell'").fetchone()[0]
            assert sold == len(rows)
