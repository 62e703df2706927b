"""Migration import (数据迁移): members, opening balances and purchase history from an old system's CSV.

Every row is validated first (phone numbers, duplicate cards or phones within the file and against
head office, negative balances, unknown tiers, bad dates, unknown cards); with any refused row
nothing is written unless ``skip_invalid``. The accepted rows are then written in ONE transaction as
journaled head-office transactions (``import_member``, ``import_balance``, ``import_purchase``) that
reach the kiosks through the feed. Each row is done once: importing the same file again changes
nothing (``hq_once`` remembers the row's key). Files may be UTF-8 or GB18030 (old Chinese systems
export GBK, a subset of GB18030).

Formats (header row required, column order free, extra columns refused):

- members: ``card_id,phone,name,store_id[,birthday][,tier][,legacy_id]``
- balances: ``card_id,points[,points_expire_on][,principal][,bonus]`` (amounts in yuan, 128.50)
- transactions: ``legacy_tx_id,card_id,at,amount,store_id`` (``at`` local time 2024-05-01 14:30 or ISO)
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Callable, Iterator
from zoneinfo import ZoneInfo

from kiosk.ledger import parse_count, parse_fen
from kiosk.ledger.dates import lot_expiry, to_utc_text
from kiosk.ledger.errors import LedgerError
from kiosk.ledger.members import check_card_id
from kiosk.ledger import pii
from kiosk.ledger.phones import normalise_phone

from .db import Db
from .ingest import Ingest
from .opsdb import done_before, home_store, mark_done
from .reports.liability import hub_rules

KINDS = {
    "members": ({"card_id", "phone", "name", "store_id"}, {"birthday", "tier", "legacy_id"}),
    "balances": ({"card_id", "points"}, {"points_expire_on", "principal", "bonus"}),
    "transactions": ({"legacy_tx_id", "card_id", "at", "amount", "store_id"}, set()),
}
MAX_BYTES = 512 * 1024 * 1024


class ImportRefused(ValueError):
    """The file as a whole cannot be read (encoding, header)."""


@dataclass
class Outcome:
    kind: str
    encoding: str
    rows: int = 0
    imported: list[dict] = field(default_factory=list)
    already: int = 0
    refused: list[dict] = field(default_factory=list)
    written: bool = False

    def as_dict(self) -> dict:
        return {"kind": self.kind, "encoding": self.encoding, "rows": self.rows, "imported": len(self.imported),
                "already_imported": self.already, "refused": self.refused, "written": self.written}


def decode(raw: bytes, encoding: str = "auto") -> tuple[str, str]:
    """(text, encoding used): UTF-8 (with or without BOM) when it decodes, else GB18030."""
    if len(raw) > MAX_BYTES:
        raise ImportRefused(f"file is larger than {MAX_BYTES // 1024 // 1024} MB")
    tries = ["utf-8-sig", "gb18030"] if encoding == "auto" else [encoding]
    for name in tries:
        try:
            return raw.decode(name), "utf-8" if name == "utf-8-sig" else name
        except (UnicodeDecodeError, LookupError):
            continue
    raise ImportRefused(f"the file is not {' or '.join(tries)} text")


def read_rows(text: str, kind: str) -> Iterator[tuple[int, dict]]:
    required, optional = KINDS[kind]
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if missing := required - set(header):
        raise ImportRefused(f"{kind}: the header lacks {', '.join(sorted(missing))}")
    if extra := set(header) - required - optional:
        raise ImportRefused(f"{kind}: unknown column(s) {', '.join(sorted(extra))}")
    reader.fieldnames = header
    for line, row in enumerate(reader, start=2):
        if None in row:
            yield line, {"__error__": "more fields than the header has"}
        else:
            yield line, {k: (v or "").strip() for k, v in row.items()}


class Importer:
    def __init__(self, db: Db, now: datetime, *, tz: str = "Asia/Shanghai", operator: str = "hq-import"):
        self.db, self.conn, self.now, self.operator = db, db.conn, now, operator
        self.zone = ZoneInfo(tz)
        self.rules = hub_rules(self.conn)
        self.tiers = {t.id for t in self.rules.tiers}
        self.ingest = Ingest(db)

    def run(self, kind: str, raw: bytes, *, encoding: str = "auto", skip_invalid: bool = False,
            progress: Callable[[int, int], None] | None = None) -> Outcome:
        if kind not in KINDS:
            raise ImportRefused(f"import kind {kind!r} is not members, balances or transactions")
        text, used = decode(raw, encoding)
        out = Outcome(kind, used)
        rows = list(read_rows(text, kind))
        out.rows = len(rows)
        check = getattr(self, f"_check_{kind}")
        accepted, seen = [], {}
        for i, (line, row) in enumerate(rows, 1):
            try:
                if "__error__" in row:
                    raise ValueError(row["__error__"])
                item = check(row, seen, line)
            except (ValueError, LedgerError) as exc:
                out.refused.append({"line": line, "reason": str(exc)})
            else:
                if item is None:
                    out.already += 1
                else:
                    accepted.append(item)
            if progress:
                progress(i, 2 * len(rows))
        if out.refused and not skip_invalid:
            return out
        write = getattr(self, f"_write_{kind}")
        at = to_utc_text(self.now)
        with self.db.transaction():
            for i, item in enumerate(accepted, 1):
                record = write(item, at)
                mark_done(self.conn, f"import_{kind}", item["key"], record["tx_id"], at)
                out.imported.append({"key": item["key"], "tx_id": record["tx_id"]})
                if progress:
                    progress(len(rows) + i * len(rows) // max(len(accepted), 1), 2 * len(rows))
        out.written = bool(accepted)
        return out

    # -- members -------------------------------------------------------------------------------
    def _check_members(self, row: dict, seen: dict, line: int) -> dict | None:
        card = check_card_id(row["card_id"])
        key = row.get("legacy_id") or card
        if done_before(self.conn, "import_members", key):
            return None
        phone = normalise_phone(row["phone"], "CN")
        name = row["name"]
        if not name or len(name) > 64:
            raise ValueError("name must be 1-64 characters")
        store = _store(row["store_id"])
        tier = row.get("tier") or self.rules.tiers[0].id
        if tier not in self.tiers:
            raise ValueError(f"tier {tier!r} is not one of {', '.join(sorted(self.tiers))}")
        birthday = _day(row.get("birthday", ""), "birthday") if row.get("birthday") else None
        if birthday and not date(1900, 1, 1) <= date.fromisoformat(birthday) <= self.now.date():
            raise ValueError(f"birthday {birthday} is not a plausible date of birth")
        for what, value in (("card", card), ("phone", phone)):
            if (what, value) in seen:
                raise ValueError(f"{what} {value} is also on line {seen[(what, value)]}")
            seen[(what, value)] = line
        if self.conn.execute("SELECT 1 FROM cards WHERE card_id = ?", (card,)).fetchone():
            raise ValueError(f"card {card} is already issued at head office")
        if pii.holder_by_phone(self.conn, self.db.keyring, phone):
            raise ValueError(f"phone {phone} already belongs to a member")
        member_id = "M" + hashlib.sha256(f"import:{key}".encode()).hexdigest()[:19].upper()
        return {"key": key, "card": card, "phone": phone, "name": name, "store": store, "tier": tier,
                "birthday": birthday, "member_id": member_id}

    def _write_members(self, item: dict, at: str) -> dict:
        sealed = pii.seal_profile(self.conn, self.db.keyring, item["member_id"],
                                  {f: item[f] for f in pii.FIELDS}, new=True)
        effects = [{"op": "member.add", "member_id": item["member_id"], "tier": self.rules.tiers[0].id,
                    "referrer_id": None, **sealed},
                   {"op": "card.add", "card_id": item["card"], "member_id": item["member_id"]}]
        if item["tier"] != self.rules.tiers[0].id:
            effects.append({"op": "tier", "member_id": item["member_id"], "tier": item["tier"],
                            "previous": self.rules.tiers[0].id})
        return self.ingest.originate_within("import_member", effects, store_id=item["store"], operator=self.operator,
                                            member_id=item["member_id"], reason="migration import", at=at,
                                            data={"legacy_id": item["key"]})

    # -- balances ------------------------------------------------------------------------------
    def _member_of(self, card: str) -> tuple[str, str]:
        row = self.conn.execute("SELECT member_id FROM cards WHERE card_id = ?", (check_card_id(card),)).fetchone()
        if row is None:
            raise ValueError(f"card {card} is not known at head office (import members first)")
        return row[0], home_store(self.conn, row[0])

    def _check_balances(self, row: dict, seen: dict, line: int) -> dict | None:
        card = row["card_id"]
        if done_before(self.conn, "import_balances", card):
            return None
        if ("card", card) in seen:
            raise ValueError(f"card {card} is also on line {seen[('card', card)]}")
        seen[("card", card)] = line
        member_id, store = self._member_of(card)
        points = _amount(row["points"], "points", parse_count, allow_zero=True)
        principal = _amount(row.get("principal") or "0", "principal", parse_fen, allow_zero=True)
        bonus = _amount(row.get("bonus") or "0", "bonus", parse_fen, allow_zero=True)
        today = self.now.astimezone(self.zone).date()
        if row.get("points_expire_on"):
            expires = _day(row["points_expire_on"], "points_expire_on")
        else:                       # as if earned today under the current rules
            expiry = lot_expiry(self.rules.expiry, today)
            expires = expiry.isoformat() if expiry else None
        if expires and expires < today.isoformat():
            raise ValueError(f"points_expire_on {expires} has passed")
        cap = self.rules.stored_value_cap_fen
        if cap and principal > cap:
            raise ValueError(f"principal {row['principal']} is above the stored-value cap of the rules")
        if not (points or principal or bonus):
            raise ValueError("nothing to import: points, principal and bonus are all 0")
        return {"key": card, "member_id": member_id, "store": store, "points": points, "principal": principal,
                "bonus": bonus, "expires": expires}

    def _write_balances(self, item: dict, at: str) -> dict:
        tx_id = self.ingest.new_tx_id()
        effects = []
        if item["points"]:
            effects.append({"op": "lot.add", "lot_id": f"{tx_id}:p", "member_id": item["member_id"],
                            "points": item["points"], "expires_on": item["expires"]})
        if item["principal"] or item["bonus"]:
            effects.append({"op": "sv", "member_id": item["member_id"], "principal": item["principal"],
                            "bonus": item["bonus"]})
        return self.ingest.originate_within(
            "import_balance", effects, store_id=item["store"], operator=self.operator, member_id=item["member_id"],
            reason="migration import: opening balance", at=at, tx_id=tx_id,
            data={"card_id": item["key"], "points": item["points"], "principal_fen": item["principal"],
                  "bonus_fen": item["bonus"]})

    # -- purchase history ----------------------------------------------------------------------
    def _check_transactions(self, row: dict, seen: dict, line: int) -> dict | None:
        key = row["legacy_tx_id"]
        if not key or len(key) > 64:
            raise ValueError("legacy_tx_id must be 1-64 characters")
        if done_before(self.conn, "import_transactions", key):
            return None
        if ("tx", key) in seen:
            raise ValueError(f"legacy_tx_id {key} is also on line {seen[('tx', key)]}")
        seen[("tx", key)] = line
        member_id, _ = self._member_of(row["card_id"])
        moment = _moment(row["at"], self.zone)
        if moment > self.now:
            raise ValueError(f"at {row['at']} is in the future")
        amount = _amount(row["amount"], "amount", parse_fen)
        return {"key": key, "member_id": member_id, "store": _store(row["store_id"]), "at": to_utc_text(moment),
                "amount": amount}

    def _write_transactions(self, item: dict, at: str) -> dict:
        effects = [{"op": "qualify", "member_id": item["member_id"], "amount": item["amount"]},
                   {"op": "purchase", "member_id": item["member_id"], "payable_fen": item["amount"],
                    "sv_principal_fen": 0, "sv_bonus_fen": 0, "points_earned": 0, "points_cash": 0, "lot_id": None}]
        return self.ingest.originate_within(
            "import_purchase", effects, store_id=item["store"], operator=self.operator, member_id=item["member_id"],
            reason="migration import: purchase history", at=item["at"],
            data={"legacy_tx_id": item["key"], "payable_fen": item["amount"], "imported_at": at})


def _store(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", text) or text in ("hq", "ops"):
        raise ValueError(f"store_id {text!r} must be 1-32 letters, digits, _ or -")
    return text


def _day(text: str, what: str) -> str:
    for fmt in ("%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(f"{what} {text!r} is not a date like 1990-05-17")


def _moment(text: str, zone: ZoneInfo) -> datetime:
    """Local time of the chain unless the text has an offset."""
    try:
        moment = datetime.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise ValueError(f"at {text!r} is not a time like 2024-05-01 14:30") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).astimezone(timezone.utc)


def _amount(text: str, what: str, parse, **kw) -> int:
    if text.startswith("-"):
        raise ValueError(f"{what} {text} is negative")
    return parse(text, what=what, **kw)

