"""Head office verifies, never trusts: each kiosk record's effects are derived again from its inputs.

A record (version 3) states the call that made it (``inputs``: the operation, its arguments, the card,
the hash of the rules it priced with, the member's balances as the kiosk saw them). Head office makes
the very same call with the kiosk's own ledger code (:class:`Replay`, a ``Ledger`` whose tables are
head office's) at the record's moment, in the chain's time zone, with the rules that hash names, and
compares what the two sets of effects do to the accounts (economics.py). Equal: the record is applied.
When the replay made exactly the record's effects (the common case: the kiosk and head office agree),
what it wrote is what applying the record writes, so it is kept (:class:`Verdict` ``applied``);
otherwise it is rolled back to the caller's savepoint. Equal only once the kiosk's view of the member's
balances is assumed: another kiosk spent the same balance offline, so the record is applied and the
shortfall becomes a debt with an alert (ingest's lenient apply). Anything else is rejected: journaled
in ``hq_rejected`` with the reason, a ``rejected`` correction to the kiosk, an alert.

Kinds whose inputs head office cannot re-derive (adjustments, expiries, tier runs, stock counts,
registrations, profile and card changes, staff records) are held to a policy instead (policy.py).
"""
from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kiosk.ledger import Approval, Ledger, Line, Spends
from kiosk.ledger.clock import FixedClock

from . import deferred, feedscope
from .economics import differences, economics
from .policy import Policy, policy_problem, role_of
from .rulebook import Rulebook

log = logging.getLogger("sync.hq.rederive")

REDERIVE_DDL = """
CREATE TABLE IF NOT EXISTS hq_rejected (
    tx_id TEXT PRIMARY KEY, source_id TEXT NOT NULL, seq INTEGER NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL,
    record TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS hq_legacy_sources (source_id TEXT PRIMARY KEY);
"""


def keep_legacy_sources(execute) -> None:
    """Migration step: the sources head office knew before records stated inputs may send records
    without inputs until their first one with (docs/protocol.md, "Migrating to records version 3")."""
    execute("INSERT INTO hq_legacy_sources (source_id) SELECT source_id FROM hq_sources WHERE source_id <> 'hq'")


# The operations head office calls again, and the kind of record each makes.
REPLAYED = {"purchase": "purchase", "refund": "refund", "topup": "topup", "undo_topup": "topup_undo",
            "sell_package": "package_sell", "use_package": "package_use", "issue_coupon": "coupon_issue",
            "checkin": "checkin", "claim_receipt": "receipt_claim", "redeem": "redeem",
            "convert_points": "convert", "transfer_points": "transfer", "visit": "benefits",
            "close_account": "close"}
INPUTS_VERSION = 3
CREDITS = ("points+", "principal", "bonus", "coupon+", "package+")   # what a member gains
KNOWN_MAX = 100_000       # (member, store) pairs remembered as known before the memory starts again


class Rejected(Exception):
    """A record head office will not apply; ``detail`` goes into the correction and the alert."""

    def __init__(self, reason: str, **detail):
        super().__init__(reason)
        self.detail = {"reason": reason, **detail}


class NeedsSavepoint(Exception):
    """A record must be rolled back (a replay to undo, a refusal) and its caller took no savepoint."""


class Replayed:
    """The spend guard of a replay: the kiosk's spend was decided when it was made (head office's hold
    or the kiosk's offline limits); re-deriving it spends nothing and asks no one."""

    def approve(self, ledger, member: dict, card_id: str, spends: Spends) -> Approval:
        return Approval(True, True, "replayed", spends)


class Replay(Ledger):
    """The kiosk's ledger operations over head office's tables. The record the operation makes (with the
    checked record's tx_id and seq) is kept in ``made``, not journaled; its effects are applied, and the
    caller holds a savepoint to roll them back. Role and card status are not checked here: head office's
    view of them may be newer than the kiosk's was (roles are the policy's business, blocked cards the
    authorisation's)."""

    def __init__(self, conn, rules, record: dict, *, tz: ZoneInfo, columns: list[str], keyring):
        self.conn, self.kiosk_id, self.store_id, self.tz = conn, record["kiosk_id"], record["store_id"], tz
        self._checked, self.made_tx_id = record, record["tx_id"]     # a credit names its own (:meth:`Verifier.credit`)
        self.keyring = keyring      # head office's personal-data keys: a birthday month changes what is earned
        self.clock, self.phone_region, self._fixed = FixedClock(record["at"]), "CN", rules
        self._in_transaction, self._member_columns, self._card_read = False, columns, None
        self._call = {}      # not None: the operation's call is not recorded again (states_inputs)
        self.made: dict | None = None
        self.transactions = 0       # an operation making more than one: its writes are never kept
        self.guard = Replayed()
        self._compose()

    @property
    def rules(self):
        return self._fixed

    def _refresh_rules(self) -> None:
        pass

    @contextmanager
    def _write(self):
        yield self.conn

    def require_role(self, operator: str, role: str) -> None:
        pass

    def _inputs(self, card, member, moment) -> dict:
        return {}        # what the record being checked states already

    def _place(self, conn) -> dict:
        return {"seq": self._checked["seq"], "tx_id": self.made_tx_id}

    def _journal(self, conn, record: dict) -> None:
        pass        # the checked record is journaled by ingest, if at all

    def _committed(self, record: dict) -> None:
        self.made, self.transactions = record, self.transactions + 1

    def member_for_card(self, card_id: str, *, active: bool = True) -> dict:
        return super().member_for_card(card_id, active=False)


@dataclass
class Verdict:
    """What :meth:`Verifier.check` found in a record it did not reject."""

    doubt: dict | None = None   # what to alert about: a record explained only by the kiosk's view
    applied: bool = False       # the replay made exactly the record's effects and left them applied


class Verifier:
    def __init__(self, db, *, timezone: ZoneInfo, policy: Policy | None = None, accept_legacy: bool = True,
                 token_key=None):
        self.db, self.conn, self.tz, self.fatal, self.policy = db, db.conn, timezone, db.fatal, policy or Policy()
        self.token_key = token_key      # member tokens' public key: proves a deferred purchase's card was there
        self.accept_legacy = accept_legacy
        self.rulebook = Rulebook(self.conn)
        self._columns: list[str] | None = None
        self._upgraded: set[str] = set()
        self._known: set[tuple[str, str]] = set()        # (member, store) with business there: one query each
        self._learnt: set[tuple[str, str]] = set()       # of those, what this batch's transaction showed

    def new_batch(self) -> None:
        """A batch begins: what other hubs publish meanwhile is read again."""
        self.rulebook.forget()
        self._learnt.clear()

    def check(self, record: dict, savepoint: str | None) -> Verdict:
        """Raise :class:`Rejected` unless the record's effects are what its inputs explain. ``savepoint``:
        the caller's, taken just before; what a replay wrote is rolled back to it, unless the replay made
        exactly the record's effects (``applied``: they are in place, the caller only journals the record).
        None: the caller took none, and a replay to roll back raises :class:`NeedsSavepoint`."""
        inputs = record.get("inputs")
        if record["kind"] == deferred.KIND and (record["v"] < INPUTS_VERSION or not isinstance(inputs, dict)
                                                or inputs.get("call") != deferred.KIND):
            raise Rejected("a deferred purchase must state its call (card, member, token, lines)")
        if record["v"] < INPUTS_VERSION or inputs is None:
            self._legacy(record)
            return Verdict()
        upgrading = self._upgrading(record["kiosk_id"])
        rules = self.rulebook.get(inputs.get("rules", ""))
        if rules is None:
            raise Rejected(f"rules {inputs.get('rules')} were never published by head office")
        replaced = self.rulebook.stale(rules.digest, record["at"])
        if replaced:
            raise Rejected(f"rules {rules.digest} were replaced on {replaced}, longer than a kiosk may stay offline")
        call = inputs.get("call")
        if record["kind"] == deferred.KIND:
            why = deferred.problem(self.conn, record, self.token_key)
            if why:
                raise Rejected(f"deferred purchase not credited: {why}")
            verdict = Verdict()
        elif call in REPLAYED:
            if REPLAYED[call] != record["kind"]:
                raise Rejected(f"a {record['kind']} record cannot come from {call}")
            verdict = self._rederive(record, rules, savepoint)
        else:
            self._bounded(record, rules)
            verdict = Verdict()
        if upgrading:       # after the replays: rolling one back must not undo it
            self.conn.execute("DELETE FROM hq_legacy_sources WHERE source_id = ?", (record["kiosk_id"],))
        return verdict

    # -- re-derivation ---------------------------------------------------------------------------
    def _rederive(self, record: dict, rules, savepoint: str | None) -> Verdict:
        claimed = {**economics(self.conn, record), ("record of", record["member_id"]): 1}
        first, made = self._derive(record, rules, assume_seen=False)
        if made is not None and first == claimed and _made_alike(made, record) \
                and self._same(record, rules, claimed, first):   # equal summaries: no state read decides
            self._refuse_stranger(record, claimed)
            return Verdict(applied=True)
        self._rollback(savepoint)
        if isinstance(first, dict) and self._same(record, rules, claimed, first):
            self._refuse_stranger(record, claimed)
            return Verdict()
        second, _ = self._derive(record, rules, assume_seen=True)
        self._rollback(savepoint)
        if not (isinstance(second, dict) and self._same(record, rules, claimed, second)):
            self._refuse(record, claimed, first, second)
        log.info("tx %s of %s explained by the kiosk's view of the member (an offline spend elsewhere)",
                 record["tx_id"], record["kiosk_id"])
        others = sorted({k[1] for k in claimed if k[0] == "points+" and k[1] != record["member_id"]})
        if record["kind"] == "purchase" and others:
            return Verdict(doubt={"problem": "a second first purchase paid the referral again", "members": others})
        self._refuse_stranger(record, claimed)
        return Verdict()

    def _rollback(self, savepoint: str | None) -> None:
        if savepoint is None:
            raise NeedsSavepoint("a replay to roll back")
        self.conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")

    def _refuse(self, record: dict, claimed: dict, first, second) -> None:
        if isinstance(first, str):
            log.info("tx %s: %s; with the kiosk's view: %s", record["tx_id"], first, second)
            raise Rejected(f"head office cannot make this {record['kind']}: {first}")
        raise Rejected(f"the effects differ from what the inputs give: {'; '.join(self._diff(claimed, first))[:400]}",
                       claimed=_jsonable(claimed), derived=_jsonable(first))

    def _refuse_stranger(self, record: dict, claimed: dict) -> None:
        """A credit to a member the crediting store has no business with is refused: with the feed scoped
        to the store, a kiosk holds only its store's members and those looked up there (feedscope.py), so
        an honest kiosk cannot credit anyone else (nor, before scoping, anyone without a record there)."""
        member_id = record["member_id"]
        if not member_id or not any(k[0] in CREDITS and k[1] == member_id and v > 0 for k, v in claimed.items()):
            return
        if (member_id, record["store_id"]) in self._known:
            return
        known = self.conn.execute(
            "SELECT 1 FROM journal j JOIN hq_sources s ON s.source_id = j.kiosk_id"
            " WHERE j.member_id = ? AND s.store_id = ? LIMIT 1", (member_id, record["store_id"])).fetchone()
        if not known and not feedscope.belongs(self.conn, record["store_id"], member_id):
            raise Rejected(f"store {record['store_id']} credits member {member_id}, who is not its member and"
                           " never tapped there")
        self.journaled(member_id, record["store_id"])

    def journaled(self, member_id: str, store_id: str) -> None:
        """A record of the member from a source of the store is journaled: they have business there (once
        had, it stays; what the transaction wrote is forgotten if it rolls back, :meth:`forget`)."""
        if (member_id, store_id) in self._known:
            return
        if len(self._known) >= KNOWN_MAX:
            self._known.clear()
        self._known.add((member_id, store_id))
        self._learnt.add((member_id, store_id))

    def _derive(self, record: dict, rules, *, assume_seen: bool) -> tuple[dict | str, dict | None]:
        """The economics of the call made again (or why it was refused), and the record it made (None
        when it made several). What it wrote stays until the caller rolls back (after a refusal, before
        any other statement)."""
        try:
            if assume_seen:
                self._assume_seen(record, rules)
            replay = Replay(self.conn, rules, record, tz=self.tz, columns=self.columns(), keyring=self.db.keyring)
            inputs = record["inputs"]
            args = _arguments(inputs["call"], inputs.get("args") or {}, rules)
            getattr(replay, inputs["call"])(**args, operator=record["operator"], at=record["at"])
            if replay.made is None:
                return "nothing_to_do: it gives nothing", None
            summary = {**economics(self.conn, replay.made), ("record of", replay.made["member_id"]): 1}
            return summary, replay.made if replay.transactions == 1 else None
        except Exception as exc:    # the ledger refusing, or inputs it cannot take: not derivable
            if isinstance(exc, self.fatal):
                raise
            return f"{getattr(exc, 'code', '') or type(exc).__name__}: {exc}"[:300], None

    def _same(self, record: dict, rules, claimed: dict, derived: dict) -> bool:
        """Equal accounts; a tier change may be lower than head office's (it may know more spend)."""
        if _without_tiers(claimed) != _without_tiers(derived):
            return False
        rank = {t.id: i for i, t in enumerate(rules.tiers)}
        ceiling = max((rank.get(k[2], -1) for k in derived if k[0] == "tier"), default=-1)
        return all(k[1] == record["member_id"] and rank.get(k[2], 99) <= max(ceiling, self._tier_rank(k[1], rank))
                   for k in claimed if k[0] == "tier")

    def _tier_rank(self, member_id: str, rank: dict) -> int:
        row = self.conn.execute("SELECT tier FROM members WHERE member_id = ?", (member_id,)).fetchone()
        return rank.get(row[0], -1) if row else -1

    @staticmethod
    def _diff(claimed: dict, derived: dict) -> list[str]:
        return differences(_without_tiers(claimed), _without_tiers(derived)) or ["a tier above what was earned"]

    def _assume_seen(self, record: dict, rules) -> None:
        """Head office's state as the kiosk saw it: the member's balances it states, and what the record
        itself used up (coupons, package uses, gift stock, claims, benefits and instalments paid) given
        back, as if no other kiosk (or head office's run) had taken them first. Only what the kiosk says
        it saw; a tier above head office's is not believed."""
        member_id, seen = record["member_id"], record["inputs"].get("seen")
        if member_id and seen:
            rank = {t.id: i for i, t in enumerate(rules.tiers)}
            tier = seen["tier"] if rank.get(seen["tier"], 99) <= self._tier_rank(member_id, rank) else None
            self.conn.execute("UPDATE members SET principal_fen = ?, bonus_fen = ?, points_debt = ?,"
                              " tier = COALESCE(?, tier) WHERE member_id = ?",
                              (seen["principal_fen"], seen["bonus_fen"], seen["points_debt"], tier, member_id))
            if seen.get("first_purchase"):
                self.conn.execute("UPDATE members SET first_purchase_tx = NULL WHERE member_id = ?", (member_id,))
            if seen.get("birthday") is False:   # the kiosk could not read it (no data key): no birthday offers
                self.conn.execute("UPDATE members SET birthday = NULL WHERE member_id = ?", (member_id,))
            self.conn.execute("UPDATE lots SET remaining = 0 WHERE member_id = ?", (member_id,))
            self.conn.execute("INSERT INTO lots (member_id, lot_id, earned_at, expires_on, points, remaining)"
                              " VALUES (?, ?, ?, NULL, ?, ?)", (member_id, f"{record['tx_id']}:seen", record["at"],
                                                                 seen["points"], seen["points"]))
        for e in record["effects"]:
            if e["op"] == "coupon.use":
                self.conn.execute("UPDATE coupons SET used_tx = NULL WHERE coupon_id = ?", (e["coupon_id"],))
            elif e["op"] == "package.take":
                self.conn.execute("UPDATE packages SET remaining = remaining + ? WHERE package_id = ?",
                                  (e["uses"], e["package_id"]))
            elif e["op"] == "stock" and "delta" in e and e["delta"] < 0:
                self.conn.execute("UPDATE stock SET stock = stock - ? WHERE store_id = ? AND sku = ?",
                                  (e["delta"], record["store_id"], e["sku"]))
            elif e["op"] == "receipt":
                self.conn.execute("DELETE FROM receipt_claims WHERE receipt = ?", (e["receipt"],))
            elif e["op"] == "coupon.claim":
                self.conn.execute("DELETE FROM coupon_claims WHERE campaign = ? AND serial = ?",
                                  (e["campaign"], e["serial"]))
            elif e["op"] == "instalment.pay":
                self.conn.execute("UPDATE instalments SET status = 'due', paid_tx = NULL"
                                  " WHERE topup_tx = ? AND part = ?", (e["topup_tx"], e["part"]))
            elif e["op"] == "benefit":
                self.conn.execute("DELETE FROM benefits WHERE member_id = ? AND kind = ? AND period = ?",
                                  (e["member_id"], e["kind"], e["period"]))

    def credit(self, record: dict, tx_id: str) -> dict:
        """The purchase head office makes for a deferred one that :meth:`check` passed: the kiosk's lines
        priced with the member's own state and the rules the kiosk had at the record's moment (paid in
        full: no tier discount), named ``tx_id``. Nothing is kept here: the caller journals what it returns."""
        rules = deferred.paid_in_full(self.rulebook.get(record["inputs"]["rules"]))
        args = record["inputs"]["args"]
        lines = _arguments("purchase", {"lines": args["lines"]}, rules)["lines"]
        self.conn.execute("SAVEPOINT sp_credit")
        try:
            replay = Replay(self.conn, rules, record, tz=self.tz, columns=self.columns(), keyring=self.db.keyring)
            replay.made_tx_id = tx_id
            replay.purchase(args["card_id"], lines, operator=record["operator"], at=record["at"])
            return replay.made
        finally:
            self.conn.execute("ROLLBACK TO SAVEPOINT sp_credit")
            self.conn.execute("RELEASE SAVEPOINT sp_credit")

    # -- bounded kinds and old records -----------------------------------------------------------
    def _bounded(self, record: dict, rules) -> None:
        summary = economics(self.conn, record)
        problem = policy_problem(self.policy, record["kind"], summary, role_of(self.conn, record["operator"]),
                                 record["member_id"], record["store_id"])
        if problem is None and record["kind"] == "register":
            problem = next((f"a new member starts in tier {rules.tiers[0].id}" for e in record["effects"]
                            if e["op"] == "member.add" and e["tier"] != rules.tiers[0].id), None)
        if problem is None and record["kind"] == "tier":
            rank = {t.id: i for i, t in enumerate(rules.tiers)}
            if any(rank.get(k[2], 99) >= self._tier_rank(k[1], rank) for k in summary if k[0] == "tier"):
                problem = "a tier run may only move a member down"
        if problem:
            raise Rejected(f"outside head office's policy: {problem}")

    def _legacy(self, record: dict) -> None:
        """Records without inputs (version < 3) come only from kiosks head office knew before the upgrade
        and only until their first record with inputs (docs/protocol.md, "Migrating to records version
        3"), and only while the hub accepts them at all (``kiosk-hq run --refuse-unverified``)."""
        if not self.accept_legacy:
            raise Rejected("records without inputs (version < 3) are no longer accepted: upgrade the kiosk")
        if not self.conn.execute("SELECT 1 FROM hq_legacy_sources WHERE source_id = ?",
                                 (record["kiosk_id"],)).fetchone():
            raise Rejected("a record without inputs from a source that already sent records with inputs"
                           " or was enrolled after records had inputs")

    def _upgrading(self, source_id: str) -> bool:
        """A source's first record with inputs ends its records without (True: this is it)."""
        if source_id in self._upgraded:
            return False
        self._upgraded.add(source_id)
        return True

    def forget(self) -> None:
        """The batch's transaction was rolled back (a lost deadlock, a batch run again with savepoints):
        what it showed is forgotten; what committed batches showed stays."""
        self._upgraded.clear()
        self._known -= self._learnt
        self._learnt.clear()

    def columns(self) -> list[str]:
        if self._columns is None:
            cursor = self.conn.execute("SELECT * FROM members LIMIT 0")
            self._columns = ["card_status"] + [d[0] for d in cursor.description]
        return self._columns


def journal_rejected(conn, record: dict, detail: dict, at: str) -> None:
    """Keep a rejected record with the reason (it is never applied, and never fed to other kiosks)."""
    conn.execute("INSERT INTO hq_rejected (tx_id, source_id, seq, at, reason, record) VALUES (?, ?, ?, ?, ?, ?)"
                 " ON CONFLICT (tx_id) DO NOTHING", (record["tx_id"], record["kiosk_id"], record["seq"], at,
                                                     detail.get("reason") or detail.get("error", ""),
                                                     json.dumps(record, separators=(",", ":"), ensure_ascii=False)))


def _made_alike(made: dict, record: dict) -> bool:
    """The replay made the record's very effects at its moment (type for type: ``true`` is not ``1``), so
    applying the record would write exactly what the replay wrote (tx_id and store are the record's)."""
    return made["at"] == record["at"] and _exact(made["effects"]) == _exact(record["effects"])


def _exact(value) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _arguments(call: str, args: dict, rules) -> dict:
    """The recorded arguments as the operation takes them (lines, printed coupons, a package plan)."""
    args = dict(args)
    if "lines" in args:
        args["lines"] = [Line(**line) for line in args["lines"]]
    if "printed_coupons" in args:
        args["printed_coupons"] = [tuple(p) for p in args["printed_coupons"]]
    if call == "sell_package":
        plan = rules.package(args.get("plan"))
        if plan is None:
            raise ValueError(f"package {args.get('plan')!r} is not in the rules")
        args["plan"] = plan
    return args


def _without_tiers(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k[0] != "tier"}


def _jsonable(summary: dict) -> dict:
    return {" ".join(map(str, k)): v for k, v in sorted(summary.items(), key=repr)[:40]}

