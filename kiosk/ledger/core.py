"""The ledger's storage core: one SQLite file, one durable commit per transaction.

A transaction is built inside :meth:`LedgerCore.transaction`: reads and effects happen in one
``BEGIN IMMEDIATE`` SQLite transaction; on exit the journal row, its effects and its outbox row
commit together (WAL, ``synchronous=FULL``), or nothing does.
"""
from __future__ import annotations

import functools
import inspect
import json
import logging
import os
import sqlite3
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

from . import holdings, journal, keyed, pii, schema
from .apply import apply_effect
from .clock import Clock, from_env
from .dates import from_utc_text, parse_moment, to_utc_text
from .errors import InvalidInput, LedgerError, NotALedger, NotFound, Refused
from .guard import OfflineLimitsGuard, SpendGuard
from .permissions import ADMIN, SELF, require
from .rules import Rules, load_rules

log = logging.getLogger("kiosk.ledger")



@contextmanager
def write_transaction(conn, begin: tuple[str, ...] | list[str] = ("BEGIN IMMEDIATE",)) -> Iterator:
    """One write transaction: committed when the block ends, rolled back on any exception."""
    for statement in begin:
        conn.execute(statement)
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def create_private(path: str | Path) -> None:
    """Make a new, empty database file readable by its owner only (SQLite gives its WAL and
    journal files the same mode); an existing file is left as it is."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def connect(path: str | Path) -> sqlite3.Connection:
    """Open with the durability settings every writer of this file uses."""
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA wal_autocheckpoint = 8000")   # 32 MB: fewer checkpoint fsyncs per commit
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    conn.execute("PRAGMA secure_delete = ON")          # deleted and overwritten data is zeroed, not left in free pages
    return conn


def states_inputs(operation):
    """Mark an operation whose call is what its records state as ``inputs``: its name and arguments
    (less operator and moment, which the record has anyway), so head office can make the same call
    against its own state and compare the effects (sync/hq/rederive.py). An operation called inside
    another (a visit paying benefits) records the outer call. Never on an operation taking personal data
    (registration, profile changes): arguments are stored in clear, records carry only ciphertext."""
    parameters = list(inspect.signature(operation).parameters.values())[1:]
    names = [p.name for p in parameters]
    defaults = {p.name: p.default for p in parameters
                if p.default is not inspect.Parameter.empty and p.name not in ("operator", "at")}

    @functools.wraps(operation)
    def call(self, *args, **kwargs):
        core = getattr(self, "core", self)      # a service's operation records on the ledger's core
        if core._call is not None:
            return operation(self, *args, **kwargs)
        given = {**defaults, **dict(zip(names, args)), **kwargs}
        core._call = {"call": operation.__name__,
                      "args": {name: _plain(value) for name, value in given.items() if name not in ("operator", "at")}}
        try:
            return operation(self, *args, **kwargs)
        finally:
            core._call = None
    return call


def _plain(value):
    """An argument as JSON: a line as its fields, a package plan as its code, tuples as lists."""
    if is_dataclass(value):
        return getattr(value, "code", None) or dict(value.__dict__)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass
class TxBuilder:
    """A transaction being built: effects are applied as they are added, then journaled."""

    conn: sqlite3.Connection
    record: dict
    moment: datetime
    local: datetime
    member: dict | None = None

    def effect(self, op: str, **fields) -> None:
        effect = {"op": op, **fields}
        apply_effect(self.conn, self.record, effect, shortfalls := [])
        if shortfalls:
            raise LedgerError(f"internal overdraft {shortfalls}", "overdraft")
        self.record["effects"].append(effect)

    @property
    def tx_id(self) -> str:
        return self.record["tx_id"]


class LedgerCore:
    """An existing ledger file. ``kiosk_id``/``store_id``: the configured ids, which must be those
    recorded at ``init``; None takes the recorded ones. Anything else is refused untouched.
    ``guard`` decides every spend (:mod:`kiosk.ledger.guard`); by default the offline limits."""

    made_tx_id: str | None = None     # the id of the next transaction (head office's replay names it); None: new

    def __init__(self, path: str | Path, *, kiosk_id: str | None = None, store_id: str | None = None,
                 timezone: str = "Asia/Shanghai", phone_region: str = "CN", clock: Clock | None = None,
                 guard: SpendGuard | None = None, pii_key: bytes | None = None):
        """``pii_key``: the chain key for personal data; by default the key file beside the ledger
        (made on first open when missing, see :mod:`kiosk.ledger.pii`)."""
        self.path = str(path)
        self.guard = guard or OfflineLimitsGuard()
        self.phone_region = phone_region
        first_release = False
        if not schema.is_ledger_file(path):
            if not Path(path).exists():
                raise NotALedger(f"no ledger at {path}: run `kioskctl --db {path} init` first")
            if not schema.is_first_release_ledger(path):
                raise NotALedger(f"{path} is not a kiosk ledger (left unchanged; only `kioskctl init` makes one)")
            first_release = True
        self.clock = clock or from_env()
        self.tz = ZoneInfo(timezone)
        self.conn = connect(path)
        try:
            self.keyring = pii.Keyring(pii.ledger_key(self.conn, path, pii_key))
            with write_transaction(self.conn):
                schema.create(self.conn)
                pii.check_key(self.conn, self.keyring, self.path)
                pii.index_plain_members(self.conn, self.keyring, phone_region)
                if first_release:
                    schema.adopt_first_release(self.conn, kiosk_id, store_id)
            if first_release:      # the header mark into the main file, where is_ledger_file reads it
                self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self.kiosk_id, self.store_id = self._identity(kiosk_id, store_id)
        except BaseException:
            self.conn.close()
            raise
        self._rules: Rules | None = None
        self._card_read: tuple[str, int] | None = None    # the NTAG 424 read of the card at the counter
        self._rules_text: str | None = None
        self._in_transaction = False
        self._call: dict | None = None      # the operation being recorded (states_inputs)
        self._data_version = -1
        self._member_columns = ["card_status"] + [
            d[0] for d in self.conn.execute("SELECT * FROM members LIMIT 0").description]

    def _identity(self, kiosk_id: str | None, store_id: str | None) -> tuple[str, str]:
        recorded = schema.identity(self.conn)
        if recorded is None:
            raise NotALedger(f"{self.path} records no kiosk id: not a ledger made by `kioskctl init`")
        wanted = (kiosk_id or recorded[0], store_id or recorded[1])
        if wanted != recorded:
            raise InvalidInput(f"{self.path} is the ledger of kiosk {recorded[0]} in store {recorded[1]}, not of the"
                               f" configured kiosk {wanted[0]} in store {wanted[1]}", "wrong_kiosk")
        return recorded

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- rules ---------------------------------------------------------------------------------
    @property
    def rules(self) -> Rules:
        """The installed rules; re-read at most once per transaction (the sync agent may replace them)."""
        if self._rules is None or not self._in_transaction:
            self._refresh_rules()
        return self._rules

    def _refresh_rules(self) -> None:
        """Re-read the rules only when another connection has committed since we last looked."""
        (version,) = self.conn.execute("PRAGMA data_version").fetchone()
        if self._rules is not None and version == self._data_version:
            return
        self._data_version = version
        text = self.meta("rules")
        if text is None:
            raise LedgerError("the ledger has no rules yet: run `kioskctl init`", "not_initialised")
        if text != self._rules_text:
            self._rules, self._rules_text = load_rules(text), text

    def install_rules(self, text: str) -> Rules:
        """Install rules (refused with RulesError, nothing written, when they do not load)."""
        rules = load_rules(text)
        with self._joined_write():
            self.set_meta("rules", rules.source)
        self._rules = None  # our own write does not change PRAGMA data_version
        return rules

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta (key, value) VALUES (?, ?)"
                          " ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))

    # -- time ------------------------------------------------------------------------------------
    def moment(self, at: str | None = None) -> datetime:
        """The instant of ``--at`` (store-local unless it has an offset), or now by the ledger's clock."""
        return parse_moment(at, self.tz, self.clock.now())

    def now_text(self) -> str:
        return to_utc_text(self.clock.now())

    def local_moment(self, at: str | None = None) -> datetime:
        return self.moment(at).astimezone(self.tz)

    # -- transactions --------------------------------------------------------------------------
    def _write(self):
        return write_transaction(self.conn)

    def _joined_write(self):
        """The caller's open write transaction, or a new one (for small writes a caller may batch)."""
        return nullcontext(self.conn) if self.conn.in_transaction else self._write()

    @contextmanager
    def transaction(self, kind: str, *, operator: str, at: str | None = None, member_id: str | None = None,
                    card: str | None = None, card_active: bool = True, reason: str = "",
                    ref_tx: str | None = None, data: dict | None = None, record_only: bool = False) -> Iterator[TxBuilder]:
        """Build one journaled transaction; commit it with its outbox row, or roll all back.

        With ``card``, the member is read inside the write lock (``t.member``), so balances
        cannot change underneath the operation. ``record_only`` transactions have no effects
        (staff actions: the record is their audit trail). The operator's role must allow ``kind``
        (:mod:`kiosk.ledger.permissions`).
        """
        moment = self.moment(at)
        with self._write() as conn:
            self._refresh_rules()
            self._in_transaction = True
            try:
                self.require_role(operator, kind)
                member = self.member_for_card(card, active=card_active) if card else None
                member_id = member["member_id"] if member else member_id
                self._not_before_what_it_refers_to(moment, member, ref_tx)
                record = journal.Record.build(**self._place(conn), source_id=self.kiosk_id, store_id=self.store_id,
                                              channel="kiosk", kind=kind, at=to_utc_text(moment), operator=operator,
                                              member_id=member_id, ref_tx=ref_tx, reason=reason, data=data,
                                              inputs=self._inputs(card, member, moment))
                yield TxBuilder(conn, record, moment, moment.astimezone(self.tz), member)
                if not record["effects"] and not record_only:
                    raise Refused("nothing to do", "nothing_to_do")
                if card is not None and self._card_read and self._card_read[0] == card:
                    record["data"]["card_counter"] = {"uid": card, "counter": self._card_read[1]}
                self._journal(conn, record)
            finally:
                self._in_transaction = False
        self._committed(record)

    def _place(self, conn) -> dict:
        """Where a new record goes: the next seq of this kiosk's journal, and its tx_id (None: made new)."""
        return {"seq": journal.next_seq(conn, self.kiosk_id), "tx_id": self.made_tx_id}

    def _journal(self, conn, record: dict) -> None:
        """Seal a new record onto this kiosk's chain; journal it with its outbox row."""
        journal.seal(record, journal.last_hash(conn, self.kiosk_id))
        journal.append(conn, record, record["hash"], outbox=True)

    def _committed(self, record: dict) -> None:
        log.info("tx %s seq=%d kind=%s member=%s operator=%s", record["tx_id"], record["seq"], record["kind"],
                 record["member_id"], record["operator"])

    def _inputs(self, card: str | None, member: dict | None, moment: datetime) -> dict:
        """What the record was made from (docs/protocol.md, "Inputs"): the operation's call, the card,
        the rules' hash, and the member's balances as this kiosk saw them."""
        inputs = {**(self._call or {}), "card_id": card, "rules": self.rules.digest}
        if member is not None:
            points = holdings.available_points(self.conn, member["member_id"], holdings.local_day(moment, self.tz))
            inputs["seen"] = {"tier": member["tier"], "principal_fen": member["principal_fen"],
                              "bonus_fen": member["bonus_fen"], "points": int(points),
                              "points_debt": member["points_debt"],
                              "first_purchase": member["first_purchase_tx"] is None,
                              "birthday": bool(member.get("birthday"))}      # readable here (its data key)
        return inputs

    def card_read(self, card_id: str, counter: int | None) -> None:
        """The card at the counter was identified by this tap: with an NTAG 424 DNA read counter, every
        transaction on that card carries it (``data.card_counter``), so head office can tell a copied
        SUN message used at another kiosk (the counter going backwards). None: a tap without one."""
        self._card_read = (card_id, counter) if counter is not None else None

    def _not_before_what_it_refers_to(self, moment: datetime, member: dict | None, ref_tx: str | None) -> None:
        """A transaction cannot be dated before the member joined or before the transaction it corrects."""
        if member is not None and moment < from_utc_text(member["joined_at"]):
            raise InvalidInput(f"time {to_utc_text(moment)} is before the member joined ({member['joined_at']})")
        if ref_tx is not None:
            row = self.conn.execute("SELECT at FROM journal WHERE tx_id = ?", (ref_tx,)).fetchone()
            if row is not None and moment < from_utc_text(row[0]):
                raise InvalidInput(f"time {to_utc_text(moment)} is before transaction {ref_tx} ({row[0]})")

    def ingest(self, record: dict, *, strict: bool = True) -> tuple[bool, list[dict]]:
        """Apply a transaction made elsewhere (or replayed). Twice has the effect of once.

        Returns (applied, shortfalls); ``applied`` is False for a transaction already journaled.
        """
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM journal WHERE tx_id = ?", (record["tx_id"],)).fetchone():
                return False, []
            link = record.get("hash") or journal.link_hash(journal.last_hash(conn, record["kiosk_id"]), record)
            shortfalls = journal.apply(conn, record, link, strict=strict)
            pii.index_record(conn, self.keyring, record)
        return True, shortfalls

    # -- shared look-ups -----------------------------------------------------------------------
    def require_role(self, operator: str, action: str) -> None:
        """Refuse unless ``operator`` (a staff id, ``admin`` or ``self``) may do ``action``."""
        require(self.role_of(operator), action, operator)

    def role_of(self, operator: str) -> str:
        if operator in (ADMIN, SELF):
            return operator
        row = self.conn.execute("SELECT role FROM staff WHERE staff_id = ?", (operator,)).fetchone()
        if row is None:
            raise Refused(f"unknown operator {operator!r}", "unknown_operator")
        return row[0]

    def member_for_card(self, card_id: str, *, active: bool = True) -> dict:
        """The member a card belongs to; a lost, replaced or closed card is refused."""
        row = self.conn.execute(keyed.MEMBER_BY_CARD, (card_id,)).fetchone()
        if row is None:
            raise NotFound(f"card {card_id} is not known", "unknown_card")
        member = pii.reveal(self.conn, self.keyring, dict(zip(self._member_columns, row[:-2])), keys=row[-2:])
        if active and member["card_status"] != "active":
            raise Refused(f"card {card_id} is {member['card_status']}", "card_blocked")
        held = active and self.conn.execute("SELECT reason FROM blocklist WHERE card_id = ?", (card_id,)).fetchone()
        if held:
            raise Refused(f"card {card_id} is held by head office: {held[0]}", "card_blocked")
        if active and member["status"] != "active":
            raise Refused(f"member account is {member['status']}", "member_closed")
        return member

    def tx_record(self, tx_id: str) -> dict:
        row = self.conn.execute("SELECT record FROM journal WHERE tx_id = ?", (tx_id,)).fetchone()
        if row is None:
            raise NotFound(f"transaction {tx_id} is not known", "unknown_tx")
        return json.loads(row[0])

    @staticmethod
    def require_reason(reason: str | None, what: str) -> str:
        if not reason or not reason.strip():
            raise InvalidInput(f"{what} needs a reason")
        return reason.strip()
