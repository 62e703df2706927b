"""Abnormal-transaction monitoring (系统监控): configurable rules over what the hub has applied.

:func:`scan` reads the journal in commit order from where it stopped last time (``hq_log``), checks
each record against the rules, and stores every hit as an alert (``hq_alerts`` kind ``monitor``,
the rule and its figures in ``detail``). A rule listed in ``hold`` also puts the member's cards on
the chain-wide block list until a manager releases the alert (:func:`release`). The operations
loop publishes new alerts on ``kiosk/v1/ops/alerts``. Rules are TOML (docs/head-office.md)::

    [monitor]
    amount_above = "5000.00"          # one purchase, top-up, refund or stored-value spend above this
    velocity = { count = 5, minutes = 10 }    # more than 5 transactions on one member within 10 minutes
    business_hours = ["08:00", "22:00"]       # local time; outside is an alert
    failed = { count = 3, minutes = 15, kinds = ["staff_sign_in_failed", "authorize_refused"] }
    adjust_points_above = 5000        # a manual points adjustment above this (either sign)
    gap_minutes = 30                  # a source's sequence gap still open after this long
    card_counter_jump = 1000          # an NTAG 424 read counter leaping further than this
    hold = ["velocity"]               # rules whose hits hold the member's cards chain-wide
"""
from __future__ import annotations

import json
import logging
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from kiosk.ledger import keyed, parse_fen
from kiosk.ledger.dates import from_utc_text, to_utc_text
from kiosk.ledger.errors import LedgerError

from .db import Db
from .opsdb import state_get, state_set
from .retained import Retained

log = logging.getLogger("sync.hq.monitor")
RULE_NAMES = ("amount", "velocity", "off_hours", "failed", "adjust", "gap", "card_counter")
_MONEY_OPS = {"purchase": "payable_fen", "topup": "principal", "purchase.refund": "fen"}


@dataclass(frozen=True)
class MonitorRules:
    amount_above_fen: int = 500_000
    velocity_count: int = 5
    velocity_minutes: int = 10
    opens: time = time(8)
    closes: time = time(22)
    failed_count: int = 3
    failed_minutes: int = 15
    failed_kinds: tuple[str, ...] = ("staff_sign_in_failed", "staff_lockout", "authorize_refused")
    adjust_points_above: int = 5000
    gap_minutes: int = 30
    card_counter_jump: int = 1000
    hold: frozenset[str] = field(default_factory=frozenset)
    tz: str = "Asia/Shanghai"


def load_monitor_rules(text: str, tz: str = "Asia/Shanghai") -> MonitorRules:
    """Rules from TOML (``[monitor]``); every bad or unknown key is refused by name."""
    try:
        table = tomllib.loads(text).get("monitor", {})
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"monitor rules: {exc}") from None
    known = {"amount_above", "velocity", "business_hours", "failed", "adjust_points_above", "gap_minutes",
             "card_counter_jump", "hold"}
    if unknown := set(table) - known:
        raise ValueError(f"monitor.{sorted(unknown)[0]}: unknown key")
    d = MonitorRules()
    try:
        velocity, failed = table.get("velocity", {}), table.get("failed", {})
        hours = table.get("business_hours", ["08:00", "22:00"])
        hold = frozenset(table.get("hold", []))
        if bad := hold - set(RULE_NAMES):
            raise ValueError(f"monitor.hold: {sorted(bad)[0]!r} is not one of {', '.join(RULE_NAMES)}")
        rules = MonitorRules(
            amount_above_fen=parse_fen(table.get("amount_above", "5000.00"), what="monitor.amount_above"),
            velocity_count=_positive(velocity.get("count", d.velocity_count), "monitor.velocity.count"),
            velocity_minutes=_positive(velocity.get("minutes", d.velocity_minutes), "monitor.velocity.minutes"),
            opens=time.fromisoformat(hours[0]), closes=time.fromisoformat(hours[1]),
            failed_count=_positive(failed.get("count", d.failed_count), "monitor.failed.count"),
            failed_minutes=_positive(failed.get("minutes", d.failed_minutes), "monitor.failed.minutes"),
            failed_kinds=tuple(failed.get("kinds", d.failed_kinds)),
            adjust_points_above=_positive(table.get("adjust_points_above", d.adjust_points_above),
                                          "monitor.adjust_points_above"),
            gap_minutes=_positive(table.get("gap_minutes", d.gap_minutes), "monitor.gap_minutes"),
            card_counter_jump=_positive(table.get("card_counter_jump", d.card_counter_jump),
                                        "monitor.card_counter_jump"),
            hold=hold, tz=tz)
    except LedgerError as exc:
        raise ValueError(str(exc)) from None
    except (TypeError, IndexError, AttributeError) as exc:
        raise ValueError(f"monitor rules: {exc}") from None
    return rules


def _positive(value, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{key}: {value!r} must be a whole number above 0")
    return value


class Monitor:
    def __init__(self, db: Db, rules: MonitorRules):
        self.db, self.conn, self.rules = db, db.conn, rules
        self.zone = ZoneInfo(rules.tz)

    def scan(self, now: datetime, limit: int = 20_000) -> list[dict]:
        """Check what was applied since the last scan; store (and hold for) every hit. Returns the alerts."""
        alerts: list[dict] = []
        with self.db.transaction(["monitor"]):       # one scan at a time; batches go on meanwhile
            after = int(state_get(self.conn, "monitor.hq_seq", "0"))
            rows = self.conn.execute(
                "SELECT l.hq_seq, j.record FROM hq_log l JOIN journal j ON j.tx_id = l.tx_id"
                " WHERE l.hq_seq > ? ORDER BY l.hq_seq LIMIT ?", (after, limit)).fetchall()
            for _, text in rows:
                for rule, detail in self.check(json.loads(text)):
                    alerts.append(self._alert(now, rule, json.loads(text), detail))
            for source_id, first_missing, held in self._open_gaps(now):
                alerts.append(self._alert(now, "gap", {"kiosk_id": source_id, "tx_id": None, "member_id": None},
                                          {"missing_from": first_missing, "held": held}))
            if rows:
                state_set(self.conn, "monitor.hq_seq", str(rows[-1][0]))
            if any(a["hold"] for a in alerts):
                Retained(self.db).republish_blocklist()
        return alerts

    # -- rules ---------------------------------------------------------------------------------
    def check(self, record: dict) -> list[tuple[str, dict]]:
        """The rules ``record`` breaks, each with the figures that broke it."""
        r, hits = self.rules, []
        amount = max((abs(e[_MONEY_OPS[e["op"]]]) for e in record["effects"] if e["op"] in _MONEY_OPS), default=0)
        spent = -sum(e["principal"] + e["bonus"] for e in record["effects"] if e["op"] == "sv")
        amount = max(amount, spent)
        if amount > r.amount_above_fen:
            hits.append(("amount", {"amount_fen": amount, "limit_fen": r.amount_above_fen, "kind": record["kind"]}))
        local = from_utc_text(record["at"]).astimezone(self.zone)
        if record["channel"] == "kiosk" and not r.opens <= local.time() < r.closes:
            hits.append(("off_hours", {"local_time": local.strftime("%Y-%m-%d %H:%M"),
                                       "hours": [r.opens.isoformat("minutes"), r.closes.isoformat("minutes")]}))
        if record["kind"] == "adjust" and abs(record["data"].get("points", 0)) > r.adjust_points_above:
            hits.append(("adjust", {"points": record["data"]["points"], "limit": r.adjust_points_above,
                                    "operator": record["operator"]}))
        if record.get("member_id") and record["channel"] != "hq":
            count = self._count_since(record, r.velocity_minutes, "member_id = ?", record["member_id"])
            if count == r.velocity_count + 1:        # the one that crosses the line, once per burst
                hits.append(("velocity", {"count": count, "minutes": r.velocity_minutes}))
        if record["kind"] in r.failed_kinds:
            count = self._failures_since(record)
            if count == r.failed_count:             # the one that crosses the line, once per burst
                hits.append(("failed", {"count": count, "minutes": r.failed_minutes, "who": _failed_who(record),
                                        "kind": record["kind"]}))
        if counter := self._counter_anomaly(record):
            hits.append(("card_counter", counter))
        return hits

    def _count_since(self, record: dict, minutes: int, where: str, *params) -> int:
        since = to_utc_text(from_utc_text(record["at"]) - timedelta(minutes=minutes))
        (count,) = self.conn.execute(f"SELECT COUNT(*) FROM journal WHERE {where} AND at > ? AND at <= ?",
                                     (*params, since, record["at"])).fetchone()
        return count

    def _failures_since(self, record: dict) -> int:
        """Failed sign-ins (or refused authorizations) of the same staff member at any kiosk in the window."""
        since = to_utc_text(from_utc_text(record["at"]) - timedelta(minutes=self.rules.failed_minutes))
        kinds = self.rules.failed_kinds
        rows = self.conn.execute(f"SELECT record FROM journal WHERE kind IN ({', '.join('?' * len(kinds))})"
                                 " AND at > ? AND at <= ?", (*kinds, since, record["at"])).fetchall()
        who = _failed_who(record)
        return sum(1 for (text,) in rows if _failed_who(json.loads(text)) == who)

    def _counter_anomaly(self, record: dict) -> dict | None:
        """An NTAG 424 card's read counter (``data.card_counter``) must rise with time across every kiosk.

        Compared with the highest read seen so far: a lower counter read later, a higher one read
        earlier, or the same read at another kiosk is a copied SUN message; a leap past
        ``card_counter_jump`` means the card was read many times away from the counters (skimming).
        Records arrive in commit order, not tap order: an offline kiosk's older, lower read is fine.
        """
        seen = record.get("data", {}).get("card_counter")
        if not isinstance(seen, dict) or not isinstance(seen.get("counter"), int) or not isinstance(
                seen.get("uid"), str):
            return None
        name, counter, at = f"card_counter.{seen['uid']}", seen["counter"], record["at"]
        highest = json.loads(state_get(self.conn, name) or "null")
        if highest is None or counter > highest["counter"]:
            state_set(self.conn, name, json.dumps({"counter": counter, "at": at, "source": record["kiosk_id"]}))
        if highest is None:
            return None
        found = {"uid": seen["uid"], "counter": counter, "highest": highest["counter"],
                 "highest_at": highest["at"], "highest_from": highest["source"]}
        if counter < highest["counter"] and at > highest["at"] or counter > highest["counter"] and at < highest["at"]:
            return {**found, "anomaly": "backwards"}
        if counter == highest["counter"] and record["kiosk_id"] != highest["source"]:
            return {**found, "anomaly": "repeated"}
        if counter - highest["counter"] > self.rules.card_counter_jump:
            return {**found, "anomaly": "jump", "jump_above": self.rules.card_counter_jump}
        return None

    def _open_gaps(self, now: datetime) -> list[tuple[str, int, int]]:
        """Sources missing a sequence number for ``gap_minutes`` of scans (each gap alerted once).

        A gap's age is counted from the first scan that saw it, so it depends only on ``now``.
        """
        rows = self.conn.execute(
            "SELECT s.source_id, s.hwm + 1, COUNT(p.seq) FROM hq_sources s JOIN hq_parked p ON p.source_id = s.source_id"
            " GROUP BY s.source_id, s.hwm").fetchall()
        due = []
        for source_id, missing, held in rows:
            name = f"gap.{source_id}"
            seen = json.loads(state_get(self.conn, name) or "{}")
            if seen.get("missing") != missing:
                seen = {"missing": missing, "since": to_utc_text(now), "alerted": False}
            if not seen["alerted"] and now - from_utc_text(seen["since"]) >= timedelta(minutes=self.rules.gap_minutes):
                seen["alerted"] = True
                due.append((source_id, missing, held))
            state_set(self.conn, name, json.dumps(seen))
        return due

    # -- alerts and holds ----------------------------------------------------------------------
    def _alert(self, now: datetime, rule: str, record: dict, detail: dict) -> dict:
        hold = rule in self.rules.hold and bool(record.get("member_id"))
        detail = {"rule": rule, **detail, "held": hold}
        cursor = self.conn.execute(
            "INSERT INTO hq_alerts (at, kind, source_id, tx_id, member_id, detail) VALUES (?, 'monitor', ?, ?, ?, ?)"
            " RETURNING alert_id", (to_utc_text(now), record["kiosk_id"], record.get("tx_id"),
                                    record.get("member_id") or "", json.dumps(detail, ensure_ascii=False)))
        (alert_id,) = cursor.fetchone()
        if hold:
            cards = [c for (c,) in self.conn.execute(
                keyed.ACTIVE_CARDS, (record["member_id"],))]
            for card_id in cards:
                self.conn.execute("INSERT INTO blocklist (card_id, reason, since) VALUES (?, ?, ?)"
                                  " ON CONFLICT (card_id) DO NOTHING",
                                  (card_id, f"held by monitor alert {alert_id} ({rule})", to_utc_text(now)))
            self.conn.execute("INSERT INTO hq_holds (alert_id, member_id, cards, since) VALUES (?, ?, ?, ?)",
                              (alert_id, record["member_id"], json.dumps(cards), to_utc_text(now)))
        log.warning("monitor alert %d rule=%s source=%s member=%s detail=%s", alert_id, rule, record["kiosk_id"],
                    record.get("member_id"), json.dumps(detail)[:300])
        return {"alert_id": alert_id, "at": to_utc_text(now), "rule": rule, "source_id": record["kiosk_id"],
                "tx_id": record.get("tx_id"), "member_id": record.get("member_id") or "", "detail": detail,
                "hold": hold}


def _failed_who(record: dict) -> str:
    """Whose credentials failed: the staff member named in the record (kiosks journal failed sign-ins
    with ``data.staff_id``), else the card tried, else the operator."""
    data = record.get("data") or {}
    return str(data.get("staff_id") or data.get("card_id") or record["operator"])


def release(db: Db, alert_id: int, *, by: str, now: datetime) -> dict:
    """A manager releases a hold: the cards it put on the block list come off (others' holds stay)."""
    with db.transaction():
        row = db.conn.execute("SELECT member_id, cards, released_at FROM hq_holds WHERE alert_id = ?",
                              (alert_id,)).fetchone()
        if row is None:
            raise LookupError(f"alert {alert_id} holds no cards")
        member_id, cards, released = row
        if released:
            raise LookupError(f"alert {alert_id} was already released at {released}")
        for card_id in json.loads(cards):
            db.conn.execute("DELETE FROM blocklist WHERE card_id = ? AND reason LIKE ?",
                            (card_id, f"held by monitor alert {alert_id} %"))
        db.conn.execute("UPDATE hq_holds SET released_at = ?, released_by = ? WHERE alert_id = ?",
                        (to_utc_text(now), by, alert_id))
        version = Retained(db).republish_blocklist()
    return {"alert_id": alert_id, "member_id": member_id, "released": json.loads(cards), "blocklist_version": version}


def list_alerts(conn, *, since: str = "", kind: str | None = None, limit: int = 1000) -> list[dict]:
    """Alerts newest first, with whether each still holds cards."""
    only_kind = " AND a.kind = ?" if kind else ""     # no "? IS NULL": PostgreSQL cannot type that parameter
    rows = conn.execute(
        "SELECT a.alert_id, a.at, a.kind, a.source_id, a.tx_id, a.member_id, a.detail, h.released_at, h.cards"
        f" FROM hq_alerts a LEFT JOIN hq_holds h ON h.alert_id = a.alert_id WHERE a.at >= ?{only_kind}"
        " ORDER BY a.alert_id DESC LIMIT ?", (since, *([kind] if kind else []), limit)).fetchall()
    out = []
    for alert_id, at, kind_, source, tx, member, detail, released, cards in rows:
        detail = json.loads(detail)
        out.append({"alert_id": alert_id, "at": at, "kind": kind_, "rule": detail.get("rule", kind_),
                    "source_id": source, "tx_id": tx, "member_id": member, "detail": detail,
                    "holding": bool(cards) and not released, "released_at": released})
    return out
