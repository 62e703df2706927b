"""Head office's answers to a source's questions: may this spend go ahead, whose card is this,
and what happened in the chain since position N (the feed a kiosk catches up from).

Minimisation: a store's feed carries the records of its members and of the members looked up there
(:mod:`.feedscope`), and members' data keys only to kiosks of the member's home store; a kiosk where
another store's member taps gets that member's key, records and balance by looking the card
up (``card.lookup``)."""
from __future__ import annotations

import json
from collections import Counter
from zoneinfo import ZoneInfo

from kiosk.ledger import pii
from kiosk.ledger.clock import Clock, from_env
from kiosk.ledger.dates import to_utc_text
from kiosk.ledger.holdings import local_day, valid_coupon
from kiosk.ledger.errors import InvalidInput
from kiosk.ledger.guard import Spends

from . import feedscope, holds
from .db import Db
from .ingest import balances, feed_head
from .opsdb import home_store

FEED_PAGE_MAX = 1000
FEED_PAGE_BYTES = 1024 * 1024     # a page of records stays far below the broker's and the agent's limits


class Authority:
    def __init__(self, db: Db, clock: Clock | None = None, timezone: str = "Asia/Shanghai"):
        self.db, self.conn, self.clock, self.tz = db, db.conn, clock or from_env(), ZoneInfo(timezone)

    def today(self) -> str:
        return local_day(self.clock.now(), self.tz)

    def answer(self, kind: str, args: dict) -> tuple[str, dict]:
        """(reason, result) for one request; ``reason`` is "" when the answer is yes/found."""
        return {"authorize": self.authorize, "card.lookup": self.card_lookup, "feed.fetch": self.feed}[kind](args)

    def _card(self, card_id: str) -> tuple[str | None, str, str | None]:
        """(member_id, card status, block reason) for a card; member_id None when unknown."""
        row = self.conn.execute("SELECT c.member_id, c.status, m.status FROM cards c JOIN members m"
                                " ON m.member_id = c.member_id WHERE c.card_id = ?", (card_id,)).fetchone()
        held = self.conn.execute("SELECT reason FROM blocklist WHERE card_id = ?", (card_id,)).fetchone()
        if row is None:
            return None, "unknown", held[0] if held else None
        status = row[1] if row[2] == "active" else "closed"
        return row[0], status, held[0] if held else None

    def authorize(self, args: dict) -> tuple[str, dict]:
        """Approve all of one transaction's spends or none; what is approved is held (:mod:`.holds`)."""
        member_id, status, held = self._card(args["card_id"])
        if member_id is None:
            return "unknown_card", {"approved": False}
        if held or status != "active":
            return "card_blocked", {"approved": False}
        try:
            spends = Spends.from_dict(args["spends"])
        except (InvalidInput, TypeError):
            return "invalid_request", {"approved": False}
        store_id = args.get("store_id", "")
        names = ({f"member:{member_id}"} | {f"printed:{p}" for p in spends.printed_coupons}
                 | ({f"stock:{store_id}"} if spends.gifts else set()))
        return self.db.retrying(lambda: self._approve(member_id, store_id, spends, args, names))

    def _approve(self, member_id: str, store_id: str, spends: Spends, args: dict, names: set[str]) -> tuple[str, dict]:
        """The check and the hold in one transaction that locks the member, the printed coupons and the
        store's stock it reserves (ingest locks the same names), so a concurrent approval or a batch
        spending the same balance waits for this one."""
        with self.db.transaction(names):
            now = self.clock.now()
            if args.get("deadline") and to_utc_text(now) > args["deadline"]:
                return "late", {"approved": False}     # the kiosk stopped waiting: hold nothing for it
            holds.expire(self.conn, now)
            (balance,) = balances(self.conn, {member_id}, self.head(), self.today())
            reason = self._short(member_id, store_id, balance, spends, holds.Reserved(self.conn, member_id, store_id))
            if reason:
                return reason, {"approved": False, "balance": balance}
            hold, until = holds.reserve(self.conn, member_id, store_id, args.get("source_id", ""), spends, now)
        return "", {"approved": True, "balance": balance, "hold": hold, "hold_until": until}

    def _short(self, member_id: str, store_id: str, balance: dict, spends: Spends, reserved: holds.Reserved) -> str:
        """Why head office's balances less what is held cannot cover ``spends`` ("" when they can)."""
        if balance["points"] - reserved.points < spends.points:
            return "insufficient_points"
        if balance["principal_fen"] + balance["bonus_fen"] - reserved.stored_value_fen < spends.stored_value_fen:
            return "insufficient_stored_value"
        today = self.today()
        for code, wanted in Counter(spends.coupons).items():
            (free,) = self.conn.execute("SELECT COUNT(*) FROM coupons WHERE member_id = ? AND code = ?"
                                        f" AND {valid_coupon()}", (member_id, code, today)).fetchone()
            if free - reserved.coupons[code] < wanted:
                return "no_coupon"
        printed = spends.printed_coupons
        if len(set(printed)) < len(printed) or any(
                p in reserved.printed or not self._printed_coupon_free(p) for p in printed):
            return "coupon_used"
        for package_id, wanted in Counter(spends.packages).items():
            row = self.conn.execute("SELECT remaining FROM packages WHERE package_id = ? AND member_id = ?"
                                    " AND status = 'active' AND expires_on >= ?", (package_id, member_id, today)).fetchone()
            if (row[0] if row else 0) - reserved.packages[package_id] < wanted:
                return "no_package"
        for sku, wanted in Counter(spends.gifts).items():
            row = self.conn.execute("SELECT stock FROM stock WHERE store_id = ? AND sku = ?", (store_id, sku)).fetchone()
            if (row[0] if row else 0) - reserved.gifts[sku] < wanted:
                return "out_of_stock"
        return ""

    def _printed_coupon_free(self, printed: str) -> bool:
        campaign, _, serial = printed.rpartition(":")
        if not serial.isdigit():
            return False
        return self.conn.execute("SELECT 1 FROM coupon_claims WHERE campaign = ? AND serial = ?",
                                 (campaign, int(serial))).fetchone() is None

    def card_lookup(self, args: dict) -> tuple[str, dict]:
        """Whose card this is, head office's balance and the member's data key. Asked from a store that
        is not the member's home: their records so far too, and their next ones follow in that
        store's feed from now on (:mod:`.feedscope`)."""
        member_id, status, held = self._card(args["card_id"])
        if member_id is None:
            return "unknown_card", {"found": False}
        (balance,) = balances(self.conn, {member_id}, self.head(), self.today())
        store, records = args.get("store_id", ""), []
        if store and home_store(self.conn, member_id) != store:
            feedscope.remember(self.db, store, member_id, args.get("source_id", ""), to_utc_text(self.clock.now()))
            records = feedscope.member_records(self.conn, member_id, FEED_PAGE_BYTES)
        return "", {"found": True, "member_id": member_id, "card_status": status, "blocked": bool(held),
                    "balance": balance, "keys": pii.wrapped_keys(self.conn, {member_id}), "records": records}

    def feed(self, args: dict) -> tuple[str, dict]:
        """A page of the asking store's feed (:mod:`.feedscope`) after position ``after``, leaving out
        the asker's own transactions (it has them). Its position moves past what is left out: up to
        the last record served when the page is full, else to the head. Only the store's rows are read
        (``hq_store_log``); the head is read first, so every row up to it is there."""
        store, limit, upto = args.get("store_id", ""), min(args["limit"], FEED_PAGE_MAX), self.head()
        rows = self.conn.execute(
            "SELECT s.hq_seq, j.record FROM hq_store_log s JOIN journal j ON j.tx_id = s.tx_id"
            " WHERE s.store_id = ? AND s.hq_seq > ? AND s.hq_seq <= ? AND j.kiosk_id <> ? ORDER BY s.hq_seq LIMIT ?",
            (store, args["after"], upto, args.get("source_id", ""), limit)).fetchall()
        page, size, last = [], 0, upto if len(rows) < limit else rows[-1][0]
        for position, record in rows:
            size += len(record)
            if page and size > FEED_PAGE_BYTES:
                last = position - 1          # the rest comes with the next page
                break
            page.append(json.loads(record))
        keys = {m: k for m, k in pii.keys_for(self.conn, page).items() if home_store(self.conn, m) == store}
        return "", {"records": page, "keys": keys, "last": last, "head": self.head()}

    def head(self) -> int:
        return feed_head(self.conn)
