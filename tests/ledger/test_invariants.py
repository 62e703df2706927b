"""Ledger invariants over random sequences of operations (hypothesis stateful testing).

After every step: balances equal the journal replayed from empty; no lot is over-spent; points
go below zero only as a recorded debt; stored value never goes negative; a refused operation
changes nothing; replaying any journaled transaction again changes nothing; each member's
history adds up to their balances.
"""
import json
import shutil
import tempfile
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from kiosk.ledger import Ledger, LedgerError, lines_from_amount, verify
from kiosk.ledger.rules import PackagePlan

CARDS = ["A", "B", "C"]
TMP = "/dev/shm" if shutil.os.path.isdir("/dev/shm") else None
PROJECTION_QUERIES = ["SELECT * FROM members", "SELECT * FROM lots", "SELECT * FROM stock", "SELECT * FROM receipt_claims",
                      "SELECT * FROM coupon_claims",
                      "SELECT * FROM coupons", "SELECT * FROM packages", "SELECT * FROM cards"]


class LedgerMachine(RuleBasedStateMachine):
    @initialize()
    def open(self):
        self.dir = tempfile.mkdtemp(dir=TMP)
        self.led = Ledger.create(f"{self.dir}/l.db", kiosk_id="k1", store_id="s1", at="2026-01-01T08:00")
        self.now = datetime(2026, 1, 2, 9, 0)
        self.cards = {}          # original card -> current card
        self.purchases, self.topups = [], []
        for i, card in enumerate(CARDS):
            self.led.register(name=f"M{card}", phone=f"1380000000{i}", card_id=card,
                              birthday=f"1990-0{i + 1}-15", referrer_card=CARDS[0] if i else None,
                              operator="admin", at=self._at())
            self.cards[card] = card

    def teardown(self):
        if hasattr(self, "led"):
            self.led.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------------
    def _at(self) -> str:
        return self.now.isoformat(timespec="seconds")

    def _snapshot(self):
        return [self.led.conn.execute(q).fetchall() for q in PROJECTION_QUERIES] + [
            self.led.conn.execute("SELECT COUNT(*) FROM journal").fetchone()]

    def _try(self, fn, *args, **kw):
        """Run an operation; when the ledger refuses, nothing may have changed."""
        before = self._snapshot()
        try:
            return fn(*args, **kw)
        except LedgerError:
            assert self._snapshot() == before, f"refused {fn.__name__} left a partial write"
            return None

    # -- rules ---------------------------------------------------------------------------------
    @rule(minutes=st.integers(1, 60 * 24 * 40))
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)

    def _purchase(self, card, fen, **kw):
        result = self._try(self.led.purchase, self.cards[card], lines_from_amount(fen), operator="admin",
                           at=self._at(), **kw)
        if result:
            self.purchases.append((result["tx_id"], result["payable_fen"]))

    @rule(card=st.sampled_from(CARDS), fen=st.integers(1, 300_000))
    def purchase(self, card, fen):
        self._purchase(card, fen)

    @rule(card=st.sampled_from(CARDS), fen=st.integers(1, 100_000))
    def purchase_from_stored_value(self, card, fen):
        self._purchase(card, fen, pay="stored-value")

    @rule(card=st.sampled_from(CARDS), fen=st.integers(1, 100_000), cash=st.integers(1, 5000))
    def purchase_with_points_cash(self, card, fen, cash):
        self._purchase(card, fen, points_cash=cash)

    @rule(card=st.sampled_from(CARDS), fen=st.integers(1, 100_000),
          coupon=st.sampled_from(["C10", "M200-50", "V20"]))
    def purchase_with_coupon(self, card, fen, coupon):
        self._purchase(card, fen, coupons=[coupon])

    @rule(card=st.sampled_from(CARDS), fen=st.integers(1, 100_000), campaign=st.sampled_from(["C10", "V20"]),
          serial=st.integers(1, 3))
    def purchase_with_printed_coupon(self, card, fen, campaign, serial):
        self._purchase(card, fen, printed_coupons=[(campaign, serial)])

    @rule(card=st.sampled_from(CARDS), code=st.sampled_from(["C10", "M200-50", "V20"]))
    def issue_coupon(self, card, code):
        self._try(self.led.issue_coupon, self.cards[card], code, operator="admin", at=self._at())

    @rule(card=st.sampled_from(CARDS), fen=st.integers(1, 200_000))
    def topup(self, card, fen):
        result = self._try(self.led.topup, self.cards[card], fen, operator="admin", at=self._at())
        if result:
            self.topups.append(result["tx_id"])

    @precondition(lambda self: self.topups)
    @rule(data=st.data())
    def undo_topup(self, data):
        tx = data.draw(st.sampled_from(self.topups))
        self._try(self.led.undo_topup, tx, reason="mistake", operator="admin", at=self._at())

    @precondition(lambda self: self.purchases)
    @rule(data=st.data(), share=st.integers(1, 100))
    def refund(self, data, share):
        tx, payable = data.draw(st.sampled_from(self.purchases))
        self._try(self.led.refund, tx, max(1, payable * share // 100), operator="admin", at=self._at())

    @rule(card=st.sampled_from(CARDS), sku=st.sampled_from(["GIFT-MUG", "GIFT-BAG"]))
    def redeem(self, card, sku):
        self._try(self.led.redeem, self.cards[card], sku, operator="admin", at=self._at())

    @rule(card=st.sampled_from(CARDS), receipt=st.integers(1, 4), fen=st.integers(1, 50_000))
    def claim_receipt(self, card, receipt, fen):
        issued = int(self.now.replace(tzinfo=self.led.tz).timestamp()) - 3600
        self._try(self.led.claim_receipt, self.cards[card], store_id="s1", pos_txn=f"P{receipt}", amount_fen=fen,
                  issued_at=issued, at=self._at())

    @rule(card=st.sampled_from(CARDS))
    def checkin(self, card):
        self._try(self.led.checkin, self.cards[card], at=self._at())

    @rule(card=st.sampled_from(CARDS), points=st.integers(-3000, 3000))
    def adjust(self, card, points):
        self._try(self.led.adjust, self.cards[card], points, reason="correction", operator="admin", at=self._at())

    @rule(card=st.sampled_from(CARDS), uses=st.integers(1, 4))
    def package(self, card, uses):
        plan = PackagePlan(code="P", name="Pack", uses=uses, price_fen=1000, valid_days=20)
        self._try(self.led.sell_package, self.cards[card], plan, pay="stored-value", operator="admin", at=self._at())
        self._try(self.led.use_package, self.cards[card], operator="admin", at=self._at())

    @rule(card=st.sampled_from(CARDS))
    def lose_and_replace(self, card):
        new = self.cards[card] + "x"
        if self._try(self.led.report_lost, self.cards[card], operator="admin", at=self._at()):
            self._try(self.led.replace_card, self.cards[card], new, operator="admin", at=self._at())
            self.cards[card] = new

    @rule()
    def expire(self):
        self.led.expire(at=self._at())

    @rule(data=st.data())
    def replay_twice(self, data):
        (count,) = self.led.conn.execute("SELECT COUNT(*) FROM journal").fetchone()
        row = data.draw(st.integers(0, count - 1))
        (text,) = self.led.conn.execute("SELECT record FROM journal ORDER BY rowid LIMIT 1 OFFSET ?", (row,)).fetchone()
        before = self._snapshot()
        applied, _ = self.led.ingest(json.loads(text))
        assert not applied and self._snapshot() == before

    # -- invariants ----------------------------------------------------------------------------
    @invariant()
    def balances_equal_the_journal(self):
        assert verify(self.led.conn) == []

    @invariant()
    def nothing_negative_except_recorded_debt(self):
        assert self.led.conn.execute(
            "SELECT COUNT(*) FROM members WHERE points_debt < 0 OR principal_fen < 0 OR bonus_fen < 0").fetchone() == (0,)
        assert self.led.conn.execute("SELECT COUNT(*) FROM lots WHERE remaining < 0").fetchone() == (0,)

    @invariant()
    def points_equal_what_transactions_declared(self):
        """No shortfall is silently dropped: lots minus debt equals the sum of declared changes."""
        declared: dict[str, int] = {}
        referrer = dict(self.led.conn.execute("SELECT member_id, referrer_id FROM members"))
        for (text,) in self.led.conn.execute("SELECT record FROM journal"):
            record = json.loads(text)
            member, data, kind = record["member_id"], record["data"], record["kind"]
            change = {"purchase": lambda: data["points_earned"] - data["points_cash_points"] + data["referral_points"],
                      "refund": lambda: data["points_cash_returned"] - data["points_taken"],
                      "checkin": lambda: data["points"], "adjust": lambda: data["points"],
                      "receipt_claim": lambda: data["points"],
                      "redeem": lambda: -data["points"], "expire": lambda: -data["points"],
                      "close": lambda: -data["forfeit_points"]}.get(kind, lambda: 0)()
            declared[member] = declared.get(member, 0) + change
            if kind == "purchase" and data["referral_points"]:
                ref = referrer[member]
                declared[ref] = declared.get(ref, 0) + data["referral_points"]
        for member_id, debt in self.led.conn.execute("SELECT member_id, points_debt FROM members"):
            (lots,) = self.led.conn.execute("SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = ?",
                                            (member_id,)).fetchone()
            assert lots - debt == declared.get(member_id, 0), member_id

    @invariant()
    def each_members_history_adds_up_to_their_balances(self):
        for member_id, debt, stored in self.led.conn.execute(
                "SELECT member_id, points_debt, principal_fen + bonus_fen FROM members").fetchall():
            (lots,) = self.led.conn.execute("SELECT COALESCE(SUM(remaining), 0) FROM lots WHERE member_id = ?",
                                            (member_id,)).fetchone()
            history = [h["summary"] for h in self.led.history(member_id, limit=10**6)]
            assert (sum(h["points"] for h in history), sum(h["stored_value_fen"] for h in history)) == \
                (lots - debt, stored), member_id

    @invariant()
    def no_lot_overspent_in_the_journal(self):
        taken: dict[str, int] = {}
        points: dict[str, int] = {}
        for (text,) in self.led.conn.execute("SELECT record FROM journal"):
            for e in json.loads(text)["effects"]:
                if e["op"] == "lot.add":
                    points[e["lot_id"]] = e["points"]
                elif e["op"] == "lot.take":
                    taken[e["lot_id"]] = taken.get(e["lot_id"], 0) + e["points"]
        assert all(taken[lot] <= points[lot] for lot in taken)


LedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow])
TestLedgerInvariants = LedgerMachine.TestCase
