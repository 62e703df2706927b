"""What head office sends a kiosk, applied to its SQLite file: confirmations and corrections,
the transaction feed (member directory, other kiosks' and head office's transactions), rules,
block list, staff credentials, offline limits and gift pictures (the store's gift stock arrives
through the feed).

Everything arrives already verified (signature, schema) by the codec; retained data carries a
version and anything not newer than what the kiosk holds is ignored (a replay changes nothing).
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from kiosk.ledger import Ledger, RulesError, pictures

from .local import SyncState
from .sender import Sender

log = logging.getLogger("sync.inbound")
FEED_PAGE = 500
ANSWER_WITHIN = 10.0    # seconds head office has to answer a request; past them it is given up on (not answered)


class Inbound:
    def __init__(self, ledger: Ledger, state: SyncState, sender: Sender, ask: Callable[[str, dict], None], *,
                 follow_feed: bool = True, monotonic: Callable[[], float] = time.monotonic):
        self.ledger, self.state, self.sender, self.ask = ledger, state, sender, ask
        self.monotonic = monotonic            # how long a request has been out (tests turn it)
        self.follow_feed = follow_feed        # False: only the load tool, whose kiosks only send
        self.feed_asked, self.asked_at = False, 0.0
        self.announced = 0      # the highest feed head heard: one heard while a request was out is fetched after it

    def handle(self, env: dict) -> None:
        getattr(self, "_" + env["type"].replace(".", "_"))(env["body"])

    def _ack(self, body: dict) -> None:
        hwm = self.state.apply_ack(body)
        self.sender.confirmed(hwm)
        for c in body["corrections"]:
            log.warning("correction %s for tx %s (seq %d): %s", c["kind"], c["tx_id"], c["seq"], c["detail"])

    # -- the feed ------------------------------------------------------------------------------
    def _feed_head(self, body: dict) -> None:
        self.announced = max(self.announced, body["head"])
        if body["head"] > self.state.get("feed", 0):
            self.fetch()

    def fetch(self, force: bool = False) -> None:
        """Ask for the next page, unless a request is out: one sent before any hub subscribed (or answered
        too late) gets no answer, so a request older than :data:`ANSWER_WITHIN` no longer counts."""
        waiting = self.feed_asked and self.monotonic() - self.asked_at < ANSWER_WITHIN
        if self.follow_feed and (force or not waiting):
            self.feed_asked, self.asked_at = True, self.monotonic()
            self.ask("feed.fetch", {"after": self.state.get("feed", 0), "limit": FEED_PAGE})

    def _response(self, body: dict) -> None:
        self.state.touch()
        if body["kind"] != "feed.fetch":
            return      # answers to the UI's questions go to its own Requester
        self.feed_asked = False
        result, position = body["result"], self.state.get("feed", 0)
        refused = self.ledger.accept_keys(result.get("keys", {}))
        if refused:
            log.warning("feed brought data keys this kiosk's chain key does not open, for %s", refused)
        for record in result["records"]:
            if record["kiosk_id"] != self.ledger.kiosk_id:
                applied, shortfalls = self.ledger.ingest(record, strict=False)
                if shortfalls:
                    log.info("feed tx %s from %s took more than this kiosk had: %s", record["tx_id"],
                             record["kiosk_id"], shortfalls)
        if result["last"] > position:
            with self.state.write():
                self.state.put("feed", result["last"])
            log.info("feed now at %d of %d (%d records)", result["last"], result["head"], len(result["records"]))
        more = result["last"] < result["head"] and result["last"] > position        # a full page: the next one
        stale = result["head"] < self.announced         # answered before the rows a head since announced
        if stale:
            self.announced = 0      # asked again once: a head office whose feed went back is not asked forever
        if more or stale:
            self.fetch()

    # -- retained head-office data -------------------------------------------------------------
    def _versioned(self, name: str, body: dict, apply: Callable[[], None]) -> None:
        held = self.state.get(f"version:{name}", 0)
        if body["version"] < held:
            log.warning("refused %s version %d: older than the version %d this kiosk holds (a replay)",
                        name, body["version"], held)
            return
        if body["version"] == held:
            log.debug("%s version %d is the one we hold (retained copy)", name, body["version"])
            return
        with self.state.write():
            apply()
            self.state.put(f"version:{name}", body["version"])
        log.info("applied %s version %d", name, body["version"])

    def _rules(self, body: dict) -> None:
        try:
            self._versioned("rules", body, lambda: self.ledger.set_rules(body["text"]))
        except RulesError as exc:      # nothing was written
            log.error("refused rules version %d: %s", body["version"], exc)

    def _blocklist(self, body: dict) -> None:
        self._versioned("blocklist", body, lambda: self.ledger.replace_block_list(body["cards"]))

    def _staff(self, body: dict) -> None:
        self._versioned("staff", body, lambda: self.ledger.replace_staff(body["staff"]))

    def _limits(self, body: dict) -> None:
        self._versioned("limits", body, lambda: self.ledger.set_offline_limits(body))

    def _picture(self, body: dict) -> None:
        """Cached beside the ledger (kiosk.ledger.pictures); a bad one is dropped and the old one stays."""
        try:
            self._versioned(f"picture/{body['sku']}", body, lambda: pictures.store(
                self.ledger.path, body["sku"], body["version"], body["format"], pictures.decode_base64(body["data"])))
        except pictures.BadPicture as exc:      # nothing was written
            log.error("refused picture of %s version %d: %s", body["sku"], body["version"], exc)
