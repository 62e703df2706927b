"""Head office's answers to a source's questions: may this spend go ahead, whose card is this,
and what happened in the chain since position N (the feed a kiosk catches up from).

Minimisation: the feed carries every record (ids, cards, balances), but members' data keys only to
kiosks of the member's home store; a kiosk where another store's member taps gets that member's key
by looking the card up (``card.lookup``). Other stores' personal data stays unreadable on its card."""
from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from kiosk.ledger import pii
from kiosk.ledger.clock import Clock, from_env

from .ingest import balances, feed_head
from .opsdb import home_store

FEED_PAGE_MAX = 1000
FEED_PAGE_BYTES = 1024 * 1024     # a page of records stays far below the broker's and the agent's limits


class Authority:
    def __init__(self, conn, clock: Clock | None = None, timezone: str = "Asia/Shanghai"):
        self.conn, self.clock, self.tz = conn, clock or from_env(), ZoneInfo(timezone)

    def today(self) -> str:
        return self.clock.now().astimezone(self.tz).date().isoformat()

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
        member_id, status, held = self._card(args["card_id"])
        if member_id is None:
            return "unknown_card", {"approved": False}
        if held or status != "active":
            return "card_blocked", {"approved": False}
        (balance,) = balances(self.conn, {member_id}, self.head(), self.today())
        amount, spend = args["amount"], args["spend"]
        if spend in ("points", "gift") and balance["points"] < amount:
            return "insufficient_points", {"approved": False, "balance": balance}
        if spend == "stored_value" and balance["principal_fen"] + balance["bonus_fen"] < amount:
            return "insufficient_stored_value", {"approved": False, "balance": balance}
        if spend == "gift" and self._stock(args) <= 0:
            return "out_of_stock", {"approved": False, "balance": balance}
        if spend == "coupon" and "printed_coupon" in args:
            if not self._printed_coupon_free(args["printed_coupon"]):
                return "coupon_used", {"approved": False, "balance": balance}
        elif spend == "coupon" and not self._coupon_free(member_id, args.get("coupon_code", "")):
            return "no_coupon", {"approved": False, "balance": balance}
        return "", {"approved": True, "balance": balance}

    def _stock(self, args: dict) -> int:
        row = self.conn.execute("SELECT stock FROM stock WHERE store_id = ? AND sku = ?",
                                (args.get("store_id", ""), args.get("sku", ""))).fetchone()
        return row[0] if row else 0

    def _coupon_free(self, member_id: str, code: str) -> bool:
        today = self.today()
        return self.conn.execute("SELECT 1 FROM coupons WHERE member_id = ? AND code = ? AND used_tx IS NULL"
                                 " AND valid_until >= ?", (member_id, code, today)).fetchone() is not None

    def _printed_coupon_free(self, printed: str) -> bool:
        campaign, _, serial = printed.rpartition(":")
        if not serial.isdigit():
            return False
        return self.conn.execute("SELECT 1 FROM coupon_claims WHERE campaign = ? AND serial = ?",
                                 (campaign, int(serial))).fetchone() is None

    def card_lookup(self, args: dict) -> tuple[str, dict]:
        member_id, status, held = self._card(args["card_id"])
        if member_id is None:
            return "unknown_card", {"found": False}
        (balance,) = balances(self.conn, {member_id}, self.head(), self.today())
        return "", {"found": True, "member_id": member_id, "card_status": status, "blocked": bool(held),
                    "balance": balance, "keys": pii.wrapped_keys(self.conn, {member_id})}

    def feed(self, args: dict) -> tuple[str, dict]:
        """A page of the feed after position ``after``, leaving out the asker's own transactions
        (it has them) while still moving its position past them."""
        rows = self.conn.execute(
            "SELECT l.hq_seq, CASE WHEN j.kiosk_id = ? THEN NULL ELSE j.record END FROM hq_log l"
            " JOIN journal j ON j.tx_id = l.tx_id WHERE l.hq_seq > ? ORDER BY l.hq_seq LIMIT ?",
            (args.get("source_id", ""), args["after"], min(args["limit"], FEED_PAGE_MAX))).fetchall()
        page, size, last = [], 0, args["after"]
        for position, record in rows:
            size += len(record or "")
            if page and size > FEED_PAGE_BYTES:
                break                       # the rest comes with the next page
            last = position
            if record is not None:
                page.append(json.loads(record))
        store = args.get("store_id", "")
        keys = {m: k for m, k in pii.keys_for(self.conn, page).items() if home_store(self.conn, m) == store}
        return "", {"records": page, "keys": keys, "last": last, "head": self.head()}

    def head(self) -> int:
        return feed_head(self.conn)
