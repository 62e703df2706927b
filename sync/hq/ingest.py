"""Ingest: every source's transactions into the authoritative ledger, once each, in order.

Per source the hub keeps a contiguous sequence high-water mark. A record at or below it is a
duplicate (a resend) and changes nothing; the next one is applied with the kiosk's own
rules/apply code in lenient mode, so a double spend between offline kiosks becomes a debt plus
a correction and an alert instead of a refusal; a record beyond a gap is parked until the gap
fills (the kiosk resends whatever stays unconfirmed). One batch is one database transaction.

Hubs ingest at the same time (docs/sync.md, "Ingest and locking"): a batch locks its source first,
then, in sorted order, every member its records (and the parked ones it may drain) touch or name,
the store stock and printed coupons they use; a batch that loses a deadlock anyway is run again.
What can be done per batch is: the chain's "journaled before?" check, the duplicates' check, the
parked records, the feed log rows, the source's row. A batch first runs without a savepoint per
record, its journal rows sent to PostgreSQL together; a record that needs a savepoint (refused, or
whose re-derivation must be rolled back) runs the batch again with one per record: the same outcomes.

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
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable
from zoneinfo import ZoneInfo

from kiosk.ledger import journal, keyed, pii
from kiosk.ledger.clock import Clock, from_env, now_text
from kiosk.ledger.holdings import local_day, valid_lot

from . import deferred, feedlog, holds
from .db import Db
from .opsdb import home_store
from .policy import Policy
from .rederive import NeedsSavepoint, Rejected, Verdict, Verifier, journal_rejected
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
    first_held: int | None = None
    balances: list[dict] = field(default_factory=list)
    head: int = 0
    logged: list[str] = field(default_factory=list)     # tx_ids applied, in order: the feed log's rows
    again: bool = False         # run again a record at a time (a record refused or rolled back, a row refused)


@dataclass
class Source:
    """A source's store and position: the mark, the chain tip, whether it seals its records, why it is held."""

    source_id: str
    store_id: str
    hwm: int
    tip: str | None
    sealed: bool
    held: str | None


def members_of(record: dict) -> set[str]:
    return set(journal.others(record)) | ({record["member_id"]} if record.get("member_id") else set())


def lock_names(records: list[dict]) -> set[str]:
    """What applying ``records`` reads and then writes besides their source: their members, the store
    stock and the printed coupons they use (the names :meth:`Db.transaction` locks)."""
    names = set()
    for record in records:
        names |= {f"member:{m}" for m in members_of(record)}
        for e in record.get("effects", ()):
            if e.get("op") == "stock":
                names.add(f"stock:{e.get('store_id', record.get('store_id'))}")
            elif e.get("op") == "coupon.claim":
                names.add(f"printed:{e.get('campaign')}:{e.get('serial')}")
    return names


def named_cards(records: list[dict]) -> set[str]:
    """The cards records' inputs name (the member's own, a transfer's receiver, a referrer)."""
    cards = set()
    for record in records:
        inputs = record.get("inputs")
        if not isinstance(inputs, dict):
            continue
        args = inputs.get("args") if isinstance(inputs.get("args"), dict) else {}
        named = [inputs.get("card_id"), *(v for k, v in args.items() if k == "card_id" or k.endswith("_card"))]
        cards |= {c for c in named if isinstance(c, str)}
    return cards


# The append-only tables whose rows a batch sends together (one INSERT a table, not one a row), with what
# names them: a statement naming any of these is sent after the held rows (outbox and journal_others
# refer to journal rows).
HELD_TABLES = {"journal": ("journal", "outbox"), "lots": ("lots",), "qualifying": ("qualifying",),
               "purchases": ("purchases",), "topups": ("topups",), "checkins": ("checkins",)}


class Ingest:
    def __init__(self, db: Db, *, hold_on_overdraft: bool = False, clock: Clock | None = None,
                 timezone: str = "Asia/Shanghai", rederive: bool = True, policy: Policy | None = None,
                 accept_legacy: bool = True, token_key=None):
        """``token_key``: the member tokens' public key, to credit deferred purchases (:mod:`.deferred`)."""
        self.db, self.conn = db, db.conn
        self.hold_on_overdraft = hold_on_overdraft
        self.clock, self.tz = clock or from_env(), ZoneInfo(timezone)
        # re-derived effects (rederive.py); off only to measure what verification costs (bench/bench_sync.py)
        self.verifier = Verifier(db, timezone=self.tz, policy=policy, accept_legacy=accept_legacy,
                                 token_key=token_key) if rederive else None
        self._savepoints = True     # one per record; a batch first goes without (:meth:`_batch`)

    def now(self) -> str:
        return now_text(self.clock)

    def today(self) -> str:
        """The chain's calendar day now (coupon validity and lot expiry are counted in local days)."""
        return local_day(self.clock.now(), self.tz)

    def batch(self, store_id: str, source_id: str, channel: str, records: list[dict],
              keys: dict | None = None) -> Outcome:
        """Apply what is new in ``records`` (all from ``source_id``) in one transaction; ``keys``: the
        wrapped data keys of members whose personal data the records carry."""
        out = self.db.retrying(lambda: self._batch(store_id, source_id, channel, records, keys or {}))
        if out.held:
            log.warning("gap source=%s confirmed_to=%d holding=%d from_seq=%d", source_id, out.hwm, out.held,
                        out.first_held)
        log.info("batch source=%s records=%d applied=%d duplicates=%d hwm=%d head=%d", source_id, len(records),
                 out.applied, out.duplicates, out.hwm, out.head)
        return out

    def _batch(self, store_id: str, source_id: str, channel: str, records: list[dict], keys: dict) -> Outcome:
        """The batch without a savepoint per record; when a record needs one (it is refused, or its replay
        must be rolled back), the whole batch again with them."""
        try:
            try:
                return self._batch_once(store_id, source_id, channel, records, keys, savepoints=False)
            except NeedsSavepoint as why:
                log.info("batch source=%s again with a savepoint per record: %s", source_id, why)
                self._forget()
                out = self._batch_once(store_id, source_id, channel, records, keys, savepoints=True)
                out.again = True
                return out
        except BaseException:
            self._forget()
            raise

    def _forget(self) -> None:
        if self.verifier:       # what it remembered may have been rolled back with the batch
            self.verifier.forget()

    def _batch_once(self, store_id: str, source_id: str, channel: str, records: list[dict], keys: dict, *,
                    savepoints: bool) -> Outcome:
        self._savepoints = savepoints
        try:
            return self._batch_in(store_id, source_id, channel, records, keys)
        finally:
            self._savepoints = True

    def _batch_in(self, store_id: str, source_id: str, channel: str, records: list[dict], keys: dict) -> Outcome:
        out = Outcome(source_id)
        with self.db.transaction([f"source:{source_id}"]):
            if self.verifier:
                self.verifier.new_batch()
            source = self._source(store_id, source_id, channel)
            parked = self._parked(source_id)
            members = self._lock_members(records + list(parked.values()))
            ordered = sorted(records, key=lambda r: r["seq"])
            self._accept_keys(source, ordered, keys)
            placed = self._placed(source_id, [r["seq"] for r in ordered if r["seq"] <= source.hwm])
            fresh = [r for r in ordered if r["seq"] > source.hwm] + list(parked.values())
            seen = self._journaled(fresh)
            copied = members if len(fresh) > 1 else set()      # one record gains nothing from a copy
            with self._rows_held(copied, min((r["at"] for r in fresh), default="")):
                gaps = self._walk(source, ordered, seen, placed, out)
                self._drain_parked(source, {**{r["seq"]: r for r in gaps}, **parked}, seen, placed, out)
                feedlog.append(self.db, out.logged)
                self.db.later("UPDATE hq_sources SET hwm = ?, tip = ?, sealed = ?, held = ? WHERE source_id = ?",
                              (source.hwm, source.tip, int(source.sealed), source.held, source_id))
            self._park(source, parked, gaps, out)
            out.hwm = source.hwm
            out.corrections += self._stored_corrections(source_id, [r["seq"] for r in records], out)
            if out.held_cards:
                Retained(self.db, self.clock).republish_blocklist()
            out.head = self.head()
            out.balances = balances(self.conn, out.members, out.head, self.today())
        return out

    def _walk(self, source: Source, ordered: list[dict], seen: dict, placed: dict, out: Outcome) -> list[dict]:
        """Each record in seq order: a duplicate, the next one (applied), or beyond a gap (returned)."""
        gaps = []
        for record in ordered:
            if source.held:
                log.info("source %s is held (%s): seq %d not applied", source.source_id, source.held, record["seq"])
                break
            if record["seq"] <= source.hwm:
                self._duplicate(record, placed, out)
            elif record["seq"] == source.hwm + 1:
                self._next(source, record, seen, placed, out)
            else:
                gaps.append(record)
        return gaps

    @contextmanager
    def _rows_held(self, members: set[str], first: str):
        """Without savepoints the batch's rows of the append-only tables (:data:`HELD_TABLES`) go to
        PostgreSQL together, a table's before anything names it, and at the end, and its ``members`` are
        read and written in a copy (:mod:`.batchcopy`; ``first``: the moment of the batch's first new
        record); a row PostgreSQL refuses runs the batch again with savepoints."""
        if self._savepoints:
            yield
            return
        try:
            with self.db.held(HELD_TABLES, members, first):
                yield
        except (NeedsSavepoint, *self.db.fatal):
            raise
        except Exception as exc:
            raise NeedsSavepoint(f"held rows: {type(exc).__name__}") from exc

    def originate(self, kind: str, effects: list[dict] | Callable[[str], list[dict]], *, store_id: str,
                  operator: str = "hq", member_id: str | None = None, reason: str = "", data: dict | None = None,
                  at: str | None = None) -> dict | None:
        """A transaction made by head office itself (restock, manual correction, a benefit run):
        journaled and fed out. ``effects`` may be a function of the new transaction's id, called inside
        the write transaction so what it reads cannot change underneath; when it gives no effects,
        nothing is journaled (None). ``at``: the moment (UTC text) a dated run acts for. Locks head
        office's source, the member and the store's stock first, then whatever else the effects touch."""
        def once() -> dict | None:
            names = {"source:hq", f"stock:{store_id}"} | ({f"member:{member_id}"} if member_id else set())
            with self.db.transaction(names):
                tx_id = self.new_tx_id()
                made = effects(tx_id) if callable(effects) else effects
                if not made:
                    return None
                self.db.lock(lock_names([{"effects": made, "store_id": store_id, "member_id": member_id}]) - names)
                return self.originate_within(kind, made, store_id=store_id, operator=operator, member_id=member_id,
                                             reason=reason, data=data, at=at, tx_id=tx_id)
        return self.db.retrying(once)

    def originate_within(self, kind: str, effects: list[dict], *, store_id: str, operator: str = "hq",
                         member_id: str | None = None, reason: str = "", data: dict | None = None,
                         at: str | None = None, out: Outcome | None = None, tx_id: str | None = None,
                         ref_tx: str | None = None) -> dict:
        """:meth:`originate` inside a transaction the caller holds (several records commit together).

        Head office's own source ``hq`` serves every store: the record names the store it concerns.
        """
        out = out or Outcome("hq")
        source = self._source("hq", "hq", "hq")
        record = journal.Record.build(source_id="hq", store_id=store_id, channel="hq", seq=source.hwm + 1, kind=kind,
                                      at=at or self.now(), operator=operator, member_id=member_id, reason=reason,
                                      data=data, effects=effects, tx_id=tx_id, ref_tx=ref_tx)
        journal.seal(record, source.tip or journal.GENESIS)
        if not self._apply(record, out, record["hash"], verify=False):
            raise ValueError(f"head office's own {kind} was refused: {out.corrections[-1]['detail']}")
        feedlog.append(self.db, [record["tx_id"]])
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
        hwm, known_store, tip, sealed, held = self.conn.execute(
            "INSERT INTO hq_sources (source_id, store_id, channel, hwm, last_seen) VALUES (?, ?, ?, 0, ?)"
            " ON CONFLICT (source_id) DO UPDATE SET last_seen = excluded.last_seen"
            " RETURNING hwm, store_id, tip, sealed, held", (source_id, store_id, channel, self.now())).fetchone()
        if known_store != store_id:
            raise ValueError(f"source {source_id} belongs to store {known_store}, not {store_id}")
        return Source(source_id, store_id, hwm, tip, bool(sealed), held)

    def _accept_keys(self, source: Source, records: list[dict], keys: dict) -> None:
        """Keep the data keys of members whose profile the new records set (a resend's were kept the
        first time); keys for anyone else are refused."""
        fresh = set().union(*(pii.profile_members(r) for r in records if r["seq"] > source.hwm))
        profiles = set().union(*(pii.profile_members(r) for r in records))
        refused = pii.accept_keys(self.conn, self.db.keyring, {m: k for m, k in keys.items() if m in fresh})
        refused += sorted(set(keys) - profiles)
        if refused:
            log.warning("source %s sent data keys that were refused (not its records' members, or not"
                        " opened by the chain key), for %s", source.source_id, refused)

    def _parked(self, source_id: str) -> dict[int, dict]:
        """The source's records waiting beyond a gap, by seq."""
        return {seq: json.loads(text) for seq, text in self.conn.execute(
            "SELECT seq, record FROM hq_parked WHERE source_id = ?", (source_id,)).fetchall()}

    def _lock_members(self, records: list[dict]) -> set[str]:
        """Lock every member, stock and printed coupon the records may touch, the members their inputs'
        cards belong to included, before anything is read (sorted: batches never wait in a circle);
        returns the members locked. SQLite has one writer: nothing to lock (none returned)."""
        if self.db.dialect == "sqlite":
            return set()
        cards = sorted(named_cards(records))
        owners = set()
        if cards:
            owners = {m for (m,) in self.conn.execute(
                f"SELECT DISTINCT member_id FROM cards WHERE card_id IN ({', '.join('?' * len(cards))})", cards)}
        self.db.lock(lock_names(records) | {f"member:{m}" for m in owners})
        return set().union(*map(members_of, records), owners)

    def _journaled(self, records: list[dict]) -> dict[str, tuple[str, int]]:
        """Which of these tx_ids are journaled already, and as which source's seq (one query)."""
        tx_ids = sorted({r["tx_id"] for r in records})
        if not tx_ids:
            return {}
        return {t: (k, q) for t, k, q in self.conn.execute(
            f"SELECT tx_id, kiosk_id, seq FROM journal WHERE tx_id IN ({', '.join('?' * len(tx_ids))})", tx_ids)}

    def _placed(self, source_id: str, seqs: list[int]) -> dict[int, str]:
        return placed(self.conn, source_id, min(seqs), max(seqs)) if seqs else {}

    def _next(self, source: Source, record: dict, seen: dict, placed: dict, out: Outcome) -> bool:
        """Apply (or reject) the source's next record if it continues the chain; else hold the source."""
        problem = self._chain_problem(source, record, seen)
        if problem:
            source.held = f"seq {record['seq']}: {problem}"
            self._alert("chain_break", record, {"seq": record["seq"], "problem": problem}, out)
            log.error("chain break source=%s seq=%d: %s; source held", source.source_id, record["seq"], problem)
            return False
        sealed = "hash" in record
        link = record["hash"] if sealed else journal.link_hash(source.tip or journal.GENESIS, record)
        if self._apply(record, out, link):
            seen[record["tx_id"]] = (record["kiosk_id"], record["seq"])
            out.logged.append(record["tx_id"])
            if self.verifier and record.get("member_id") and record["kiosk_id"] == source.source_id:
                self.verifier.journaled(record["member_id"], source.store_id)     # its stranger check needs no query
        placed[record["seq"]] = record["tx_id"]
        source.hwm, source.tip, source.sealed = record["seq"], link, source.sealed or sealed
        return True

    def _chain_problem(self, source: Source, record: dict, seen: dict) -> str | None:
        if record["tx_id"] in seen:
            kiosk_id, seq = seen[record["tx_id"]]
            return f"tx_id {record['tx_id']} is already journaled as {kiosk_id} seq {seq}"
        if "hash" not in record:
            return "an unsealed record after sealed ones" if source.sealed else None
        if record["hash"] != journal.link_hash(record["prev"], record):
            return "hash does not match the record's contents"
        if source.sealed and record["prev"] != source.tip:
            return f"prev {record['prev'][:12]}… is not the chain's tip {str(source.tip)[:12]}…"
        return None

    def _apply(self, record: dict, out: Outcome, link: str, *, verify: bool = True) -> bool:
        """Apply ``record`` (True), or refuse it with a correction and an alert (False). Without savepoints
        (:meth:`_batch`) a record that cannot simply be applied raises :class:`NeedsSavepoint` instead."""
        if not self._savepoints:
            try:
                verdict, shortfalls = self._applied(record, out, link, verify, None)
            except (NeedsSavepoint, *self.db.fatal):
                raise
            except Exception as exc:
                raise NeedsSavepoint(f"seq {record['seq']}: {type(exc).__name__}") from exc
        else:
            self.conn.execute("SAVEPOINT sp_record")
            try:
                verdict, shortfalls = self._applied(record, out, link, verify, "sp_record")
            except self.db.fatal:
                raise
            except Exception as exc:  # a record the ledger cannot apply, or a forged one: refuse it, never silently
                self.conn.execute("ROLLBACK TO SAVEPOINT sp_record")
                self.conn.execute("RELEASE SAVEPOINT sp_record")
                detail = exc.detail if isinstance(exc, Rejected) else {"error": f"{type(exc).__name__}: {exc}"[:300]}
                journal_rejected(self.conn, record, detail, self.now())
                self._correct(record, "rejected", detail, out)
                return False
            self.conn.execute("RELEASE SAVEPOINT sp_record")
        out.applied += 1
        out.members |= members_of(record)
        if verdict.doubt:
            self._alert("suspect", record, verdict.doubt, out)
        if shortfalls:
            self._correct(record, "overdraft", {"shortfalls": shortfalls}, out)
            if self.hold_on_overdraft and record.get("member_id"):
                self._hold(record["member_id"], out)
            void = [s["card_id"] for s in shortfalls if s["what"] == "card"]
            if void:   # a second replacement card: refused chain-wide, the member keeps the first
                self._block(void, "a second replacement of the same card", out)
        return True

    def _applied(self, record: dict, out: Outcome, link: str, verify: bool,
                 savepoint: str | None) -> tuple[Verdict, list[dict]]:
        """Verify, apply and journal ``record``: (the verdict, the shortfalls); raises what refuses it."""
        verdict = self.verifier.check(record, savepoint) if verify and self.verifier else Verdict()
        if verdict.applied:     # re-derived to the very same effects, which the replay left in place
            shortfalls = []
            journal.append(self.conn, record, link)
        else:
            shortfalls = journal.apply(self.conn, record, link, strict=False)
        pii.index_record(self.conn, self.db.keyring, record)
        holds.release(self.conn, record)
        if verify and record["kind"] == deferred.KIND:
            self._credit(record, out)
        return verdict, shortfalls

    def _credit(self, record: dict, out: Outcome) -> None:
        """Head office's purchase for a deferred one the verifier passed, in the same transaction: the kiosk's
        record and its credit commit together or not at all, once (the credit's id is the record's)."""
        if self.verifier is None:
            raise Rejected("this hub does not re-derive records, so it cannot price a deferred purchase")
        tx_id = deferred.credit_tx_id(record["tx_id"])
        made = self.verifier.credit(record, tx_id)
        self.db.lock(lock_names([made]))
        where = {k: record[k] for k in ("tx_id", "kiosk_id", "store_id", "operator")}
        self.originate_within("purchase", made["effects"], store_id=home_store(self.conn, record["member_id"]),
                              member_id=record["member_id"], data={**made["data"], "deferred": where},
                              at=record["at"], out=out, tx_id=tx_id, ref_tx=record["tx_id"])

    def _duplicate(self, record: dict, placed: dict, out: Outcome) -> None:
        out.duplicates += 1
        held = placed.get(record["seq"])
        if held and held != record["tx_id"]:
            self._alert("conflict", record, {"seq": record["seq"], "journaled": held}, out)

    def _drain_parked(self, source: Source, parked: dict, seen: dict, placed: dict, out: Outcome) -> None:
        """Apply the parked records that now follow the mark, in order, until a gap or a hold."""
        while not source.held and source.hwm + 1 in parked:
            if not self._next(source, parked[source.hwm + 1], seen, placed, out):
                return

    def _park(self, source: Source, parked: dict, gaps: list[dict], out: Outcome) -> None:
        """Keep the records beyond the gap (one statement); forget the parked ones now below the mark."""
        if any(seq <= source.hwm for seq in parked):
            self.conn.execute("DELETE FROM hq_parked WHERE source_id = ? AND seq <= ?", (source.source_id, source.hwm))
        new = {r["seq"]: r for r in gaps if r["seq"] > source.hwm and r["seq"] not in parked}
        if new:
            rows = [v for seq, r in sorted(new.items())
                    for v in (source.source_id, seq, json.dumps(r, separators=(",", ":")))]
            self.conn.execute(f"INSERT INTO hq_parked (source_id, seq, record) VALUES"
                              f" {', '.join(['(?, ?, ?)'] * len(new))} ON CONFLICT (source_id, seq) DO NOTHING", rows)
        waiting = {seq for seq in parked if seq > source.hwm} | set(new)
        out.held, out.first_held = len(waiting), min(waiting, default=None)

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
        cards = [c for (c,) in self.conn.execute(keyed.ACTIVE_CARDS, (member_id,)).fetchall()]
        self._block(cards, "held after a double spend", out)

    def _block(self, cards: list[str], reason: str, out: Outcome) -> None:
        for card_id in cards:
            self.conn.execute("INSERT INTO blocklist (card_id, reason, since) VALUES (?, ?, ?)"
                              " ON CONFLICT (card_id) DO NOTHING", (card_id, reason, self.now()))
        out.held_cards += cards

    def _stored_corrections(self, source_id: str, seqs: list[int], out: Outcome) -> list[dict]:
        """Corrections made earlier for records of this batch (a resend must hear them again)."""
        fresh = {c["tx_id"] for c in out.corrections}
        return [c for c in stored_corrections(self.conn, source_id, min(seqs), max(seqs)) if c["tx_id"] not in fresh]


def placed(conn, source_id: str, low: int, high: int) -> dict[int, str]:
    """The tx_id head office holds at each seq ``low``..``high`` of the source (journaled, else rejected)."""
    rows = conn.execute(
        "SELECT seq, tx_id, 0 FROM journal WHERE kiosk_id = ? AND seq BETWEEN ? AND ? UNION ALL"
        " SELECT seq, tx_id, 1 FROM hq_corrections WHERE source_id = ? AND seq BETWEEN ? AND ?"
        " AND kind = 'rejected' ORDER BY 3 DESC", (source_id, low, high, source_id, low, high)).fetchall()
    return {seq: tx_id for seq, tx_id, _ in rows}      # a journaled row wins over a rejection


def stored_corrections(conn, source_id: str, low: int, high: int) -> list[dict]:
    """The corrections head office made for the source's records ``low``..``high``."""
    rows = conn.execute("SELECT tx_id, seq, kind, detail FROM hq_corrections WHERE source_id = ? AND seq BETWEEN ? AND ?",
                        (source_id, low, high)).fetchall()
    return [{"tx_id": t, "seq": s, "kind": k, "detail": json.loads(d)} for t, s, k, d in rows]


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
        f" (SELECT COALESCE(SUM(l.remaining), 0) FROM lots l WHERE l.member_id = m.member_id AND {valid_lot('l')})"
        f" FROM members m WHERE m.member_id IN ({marks}) ORDER BY m.member_id", (today, *sorted(member_ids))).fetchall()
    return [{"member_id": m, "as_of": as_of, "points": int(lots) - debt, "points_debt": debt, "principal_fen": p,
             "bonus_fen": b, "tier": tier, "status": status} for m, debt, p, b, tier, status, lots in rows]
