"""Ingest: every source's transactions into the authoritative ledger, once each, in order.

Per source the hub keeps a contiguous sequence high-water mark. A record at or below it is a
duplicate (a resend) and changes nothing; the next one is applied with the kiosk's own
rules/apply code in lenient mode, so a double spend between offline kiosks becomes a debt plus
a correction and an alert instead of a refusal; a record beyond a gap is parked until the gap
fills (the kiosk resends whatever stays unconfirmed). One batch is one database transaction.

Each source's records form a hash chain (kiosk/ledger/journal.py). The next record must carry the
chain's tip as its ``prev``, a hash that matches its contents, and a tx_id never journaled before;
otherwise the source is held (nothing more applied, the mark stays put) and a ``chain_break``
alert raised until a technician releases it (``kiosk-hq release SOURCE``). The first sealed
record of a source upgraded from the first release anchors its chain.
"""
from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass, field
from typing import Callable
from zoneinfo import ZoneInfo

from kiosk.ledger import journal, pii
from kiosk.ledger.apply import apply_effects
from kiosk.ledger.clock import Clock, from_env, now_text

from .db import Db
from .policy import Policy
from .rederive import Rejected, Verifier, journal_rejected
from .retained import Retained

log = logging.getLogger("sync.hq.ingest")


@dataclass
class Outcome:
    """What one batch did: the source's new high-water mark and what to tell people about."""

    source_id: str
    hwm: int = 0
    held: int = 0
    applied: int = 0
    duplicates: int = 0
    corrections: list[dict] = field(default_factory=list)
    alerts: list[dict] = field(default_factory=list)
    members: set[str] = field(default_factory=set)
    held_cards: list[str] = field(default_factory=list)
    balances: list[dict] = field(default_factory=list)
    head: int = 0


@dataclass
class Source:
    """A source's position: the mark, the chain tip, whether it seals its records, why it is held."""

    source_id: str
    hwm: int
    tip: str | None
    sealed: bool
    held: str | None


def members_of(record: dict) -> set[str]:
    return set(journal.others(record)) | ({record["member_id"]} if record.get("member_id") else set())


class Ingest:
    def __init__(self, db: Db, *, hold_on_overdraft: bool = False, clock: Clock | None = None,
                 timezone: str = "Asia/Shanghai", rederive: bool = True, policy: Policy | None = None,
                 accept_legacy: bool = True):
        self.db, self.conn = db, db.conn
        self.hold_on_overdraft = hold_on_overdraft
        self.clock, self.tz = clock or from_env(), ZoneInfo(timezone)
        # re-derived effects (rederive.py); off only to measure what verification costs (bench/bench_sync.py)
        self.verifier = Verifier(db, timezone=self.tz, policy=policy, accept_legacy=accept_legacy) if rederive else None

    def now(self) -> str:
        return now_text(self.clock)

    def today(self) -> str:
        """The chain's calendar day now (coupon validity and lot expiry are counted in local days)."""
        return self.clock.now().astimezone(self.tz).date().isoformat()

    def batch(self, store_id: str, source_id: str, channel: str, records: list[dict],
              keys: dict | None = None) -> Outcome:
        """Apply what is new in ``records`` (all from ``source_id``) in one transaction; ``keys``: the
        wrapped data keys of members whose personal data the records carry."""
        out = Outcome(source_id)
        with self.db.transaction():
            source = self._source(store_id, source_id, channel)
            keys = keys or {}
            profiles = set().union(*(pii.profile_members(r) for r in records))   # keys only for these
            refused = pii.accept_keys(self.conn, self.db.keyring, {m: k for m, k in keys.items() if m in profiles})
            refused += sorted(set(keys) - profiles)
            if refused:
                log.warning("source %s sent data keys that were refused (not its records' members, or not"
                            " opened by the chain key), for %s", source_id, refused)
            for record in sorted(records, key=lambda r: r["seq"]):
                if source.held:
                    log.info("source %s is held (%s): seq %d not applied", source_id, source.held, record["seq"])
                    break
                if record["seq"] <= source.hwm:
                    self._duplicate(record, out)
                elif record["seq"] == source.hwm + 1:
                    self._next(source, record, out)
                else:
                    self.conn.execute("INSERT INTO hq_parked (source_id, seq, record) VALUES (?, ?, ?)"
                                      " ON CONFLICT (source_id, seq) DO NOTHING",
                                      (source_id, record["seq"], json.dumps(record, separators=(",", ":"))))
            self._drain_parked(source, out)
            out.hwm = source.hwm
            self.conn.execute("UPDATE hq_sources SET hwm = ?, tip = ?, sealed = ?, held = ? WHERE source_id = ?",
                              (source.hwm, source.tip, int(source.sealed), source.held, source_id))
            out.held, first_held = self.conn.execute(
                "SELECT COUNT(*), MIN(seq) FROM hq_parked WHERE source_id = ?", (source_id,)).fetchone()
            out.corrections += self._stored_corrections(source_id, [r["seq"] for r in records], out)
            if out.held_cards:
                Retained(self.db, self.clock).republish_blocklist()
            out.head = self.head()
            out.balances = balances(self.conn, out.members, out.head, self.today())
        if out.held:
            log.warning("gap source=%s confirmed_to=%d holding=%d from_seq=%d", source_id, out.hwm, out.held,
                        first_held)
        log.info("batch source=%s records=%d applied=%d duplicates=%d hwm=%d head=%d", source_id, len(records),
                 out.applied, out.duplicates, out.hwm, out.head)
        return out

    def originate(self, kind: str, effects: list[dict] | Callable[[str], list[dict]], *, store_id: str,
                  operator: str = "hq", member_id: str | None = None, reason: str = "", data: dict | None = None,
                  at: str | None = None) -> dict | None:
        """A transaction made by head office itself (restock, manual correction, a benefit run):
        journaled and fed out. ``effects`` may be a function of the new transaction's id, called inside
        the write transaction so what it reads cannot change underneath; when it gives no effects,
        nothing is journaled (None). ``at``: the moment (UTC text) a dated run acts for."""
        with self.db.transaction():
            tx_id = self.new_tx_id()
            effects = effects(tx_id) if callable(effects) else effects
            if not effects:
                return None
            return self.originate_within(kind, effects, store_id=store_id, operator=operator, member_id=member_id,
                                         reason=reason, data=data, at=at, tx_id=tx_id)

    def originate_within(self, kind: str, effects: list[dict], *, store_id: str, operator: str = "hq",
                         member_id: str | None = None, reason: str = "", data: dict | None = None,
                         at: str | None = None, out: Outcome | None = None, tx_id: str | None = None) -> dict:
        """:meth:`originate` inside a transaction the caller holds (several records commit together).

        Head office's own source ``hq`` serves every store: the record names the store it concerns.
        """
        out = out or Outcome("hq")
        source = self._source("hq", "hq", "hq")
        record = {"v": journal.RECORD_VERSION, "tx_id": tx_id or self.new_tx_id(), "kiosk_id": "hq",
                  "store_id": store_id, "channel": "hq", "seq": source.hwm + 1, "kind": kind, "at": at or self.now(),
                  "operator": operator, "member_id": member_id, "ref_tx": None, "reason": reason,
                  "data": data or {}, "effects": effects}
        journal.seal(record, source.tip or journal.GENESIS)
        self._apply(record, out, record["hash"], verify=False)
        if out.corrections and out.corrections[-1]["tx_id"] == record["tx_id"]:
            raise ValueError(f"head office's own {kind} was refused: {out.corrections[-1]['detail']}")
        self.conn.execute("UPDATE hq_sources SET hwm = ?, tip = ?, sealed = 1 WHERE source_id = 'hq'",
                          (record["seq"], record["hash"]))
        return record

    @staticmethod
    def new_tx_id() -> str:
        """A transaction id made ahead (effects such as a coupon's id are derived from it)."""
        return str(uuid.uuid4())

    def head(self) -> int:
        return feed_head(self.conn)

    # -- steps ---------------------------------------------------------------------------------
    def _source(self, store_id: str, source_id: str, channel: str) -> Source:
        self.conn.execute("INSERT INTO hq_sources (source_id, store_id, channel, hwm, last_seen) VALUES (?, ?, ?, 0, ?)"
                          " ON CONFLICT (source_id) DO UPDATE SET last_seen = excluded.last_seen",
                          (source_id, store_id, channel, self.now()))
        hwm, known_store, tip, sealed, held = self.conn.execute(
            "SELECT hwm, store_id, tip, sealed, held FROM hq_sources WHERE source_id = ?", (source_id,)).fetchone()
        if known_store != store_id:
            raise ValueError(f"source {source_id} belongs to store {known_store}, not {store_id}")
        return Source(source_id, hwm, tip, bool(sealed), held)

    def _next(self, source: Source, record: dict, out: Outcome) -> bool:
        """Apply (or reject) the source's next record if it continues the chain; else hold the source."""
        problem = self._chain_problem(source, record)
        if problem:
            source.held = f"seq {record['seq']}: {problem}"
            self._alert("chain_break", record, {"seq": record["seq"], "problem": problem}, out)
            log.error("chain break source=%s seq=%d: %s; source held", source.source_id, record["seq"], problem)
            return False
        sealed = "hash" in record
        link = record["hash"] if sealed else journal.link_hash(source.tip or journal.GENESIS, record)
        self._apply(record, out, link)
        source.hwm, source.tip, source.sealed = record["seq"], link, source.sealed or sealed
        return True

    def _chain_problem(self, source: Source, record: dict) -> str | None:
        seen = self.conn.execute("SELECT kiosk_id, seq FROM journal WHERE tx_id = ?", (record["tx_id"],)).fetchone()
        if seen:
            return f"tx_id {record['tx_id']} is already journaled as {seen[0]} seq {seen[1]}"
        if "hash" not in record:
            return "an unsealed record after sealed ones" if source.sealed else None
        if record["hash"] != journal.link_hash(record["prev"], record):
            return "hash does not match the record's contents"
        if source.sealed and record["prev"] != source.tip:
            return f"prev {record['prev'][:12]}… is not the chain's tip {str(source.tip)[:12]}…"
        return None

    def _apply(self, record: dict, out: Outcome, link: str, *, verify: bool = True) -> None:
        self.conn.execute("SAVEPOINT sp_record")
        try:
            doubt = self.verifier.check(record) if verify and self.verifier else None   # rederive.py
            shortfalls = apply_effects(self.conn, record, strict=False)
            pii.index_record(self.conn, self.db.keyring, record)
            journal.append(self.conn, record, link)
            self.conn.execute("INSERT INTO hq_log (tx_id) VALUES (?)", (record["tx_id"],))
        except self.db.fatal:
            raise
        except Exception as exc:  # a record the ledger cannot apply, or a forged one: refuse it, never silently
            self.conn.execute("ROLLBACK TO SAVEPOINT sp_record")
            self.conn.execute("RELEASE SAVEPOINT sp_record")
            detail = exc.detail if isinstance(exc, Rejected) else {"error": f"{type(exc).__name__}: {exc}"[:300]}
            journal_rejected(self.conn, record, detail, self.now())
            self._correct(record, "rejected", detail, out)
            return
        self.conn.execute("RELEASE SAVEPOINT sp_record")
        out.applied += 1
        out.members |= members_of(record)
        if doubt:
            self._alert("suspect", record, doubt, out)
        if shortfalls:
            self._correct(record, "overdraft", {"shortfalls": shortfalls}, out)
            if self.hold_on_overdraft and record.get("member_id"):
                self._hold(record["member_id"], out)
            void = [s["card_id"] for s in shortfalls if s["what"] == "card"]
            if void:   # a second replacement card: refused chain-wide, the member keeps the first
                self._block(void, "a second replacement of the same card", out)

    def _duplicate(self, record: dict, out: Outcome) -> None:
        out.duplicates += 1
        row = self.conn.execute(
            "SELECT tx_id FROM journal WHERE kiosk_id = ? AND seq = ?"
            " UNION ALL SELECT tx_id FROM hq_corrections WHERE source_id = ? AND seq = ? AND kind = 'rejected'",
            (record["kiosk_id"], record["seq"], record["kiosk_id"], record["seq"])).fetchone()
        if row and row[0] != record["tx_id"]:
            self._alert("conflict", record, {"seq": record["seq"], "journaled": row[0]}, out)

    def _drain_parked(self, source: Source, out: Outcome) -> None:
        self.conn.execute("DELETE FROM hq_parked WHERE source_id = ? AND seq <= ?", (source.source_id, source.hwm))
        while not source.held:
            row = self.conn.execute("SELECT record FROM hq_parked WHERE source_id = ? AND seq = ?",
                                    (source.source_id, source.hwm + 1)).fetchone()
            if row is None or not self._next(source, json.loads(row[0]), out):
                return
            self.conn.execute("DELETE FROM hq_parked WHERE source_id = ? AND seq = ?", (source.source_id, source.hwm))

    def _correct(self, record: dict, kind: str, detail: dict, out: Outcome) -> None:
        correction = {"tx_id": record["tx_id"], "seq": record["seq"], "kind": kind, "detail": detail}
        self.conn.execute("INSERT INTO hq_corrections (tx_id, source_id, seq, kind, detail, at)"
                          " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (tx_id) DO NOTHING",
                          (record["tx_id"], record["kiosk_id"], record["seq"], kind, json.dumps(detail), self.now()))
        out.corrections.append(correction)
        self._alert(kind, record, detail, out)

    def _alert(self, kind: str, record: dict, detail: dict, out: Outcome) -> None:
        alert = {"kind": kind, "source_id": record["kiosk_id"], "tx_id": record["tx_id"],
                 "member_id": record.get("member_id") or "", "detail": detail}
        self.conn.execute("INSERT INTO hq_alerts (at, kind, source_id, tx_id, member_id, detail)"
                          " VALUES (?, ?, ?, ?, ?, ?)", (self.now(), kind, alert["source_id"], alert["tx_id"],
                                                         alert["member_id"], json.dumps(detail)))
        out.alerts.append(alert)
        log.warning("alert %s source=%s tx=%s member=%s detail=%s", kind, alert["source_id"], alert["tx_id"],
                    alert["member_id"], json.dumps(detail)[:300])

    def _hold(self, member_id: str, out: Outcome) -> None:
        cards = [c for (c,) in self.conn.execute(
            "SELECT card_id FROM cards WHERE member_id = ? AND status = 'active'", (member_id,)).fetchall()]
        self._block(cards, "held after a double spend", out)

    def _block(self, cards: list[str], reason: str, out: Outcome) -> None:
        for card_id in cards:
            self.conn.execute("INSERT INTO blocklist (card_id, reason, since) VALUES (?, ?, ?)"
                              " ON CONFLICT (card_id) DO NOTHING", (card_id, reason, self.now()))
        out.held_cards += cards

    def _stored_corrections(self, source_id: str, seqs: list[int], out: Outcome) -> list[dict]:
        """Corrections made earlier for records of this batch (a resend must hear them again)."""
        fresh = {c["tx_id"] for c in out.corrections}
        rows = self.conn.execute(
            "SELECT tx_id, seq, kind, detail FROM hq_corrections WHERE source_id = ? AND seq >= ? AND seq <= ?",
            (source_id, min(seqs), max(seqs))).fetchall()
        return [{"tx_id": t, "seq": s, "kind": k, "detail": json.loads(d)} for t, s, k, d in rows if t not in fresh]


def feed_head(conn) -> int:
    """The newest position of the feed: every applied transaction in commit order."""
    return conn.execute("SELECT COALESCE(MAX(hq_seq), 0) FROM hq_log").fetchone()[0]


def balances(conn, member_ids: set[str], as_of: int, today: str) -> list[dict]:
    """Each member's balances as head office has them on local day ``today`` (points net of debt, as a
    kiosk shows them)."""
    if not member_ids:
        return []
    marks = ", ".join("?" * len(member_ids))
    rows = conn.execute(
        "SELECT m.member_id, m.points_debt, m.principal_fen, m.bonus_fen, m.tier, m.status,"
        " (SELECT COALESCE(SUM(l.remaining), 0) FROM lots l WHERE l.member_id = m.member_id AND l.remaining > 0"
        "  AND (l.expires_on IS NULL OR l.expires_on >= ?))"
        f" FROM members m WHERE m.member_id IN ({marks}) ORDER BY m.member_id", (today, *sorted(member_ids))).fetchall()
    return [{"member_id": m, "as_of": as_of, "points": int(lots) - debt, "points_debt": debt, "principal_fen": p,
             "bonus_fen": b, "tier": tier, "status": status} for m, debt, p, b, tier, status, lots in rows]
