"""What the kiosk app gets from the sync layer; the ``kiosk`` entry point wires it into the UI.

- ``authorize(...)``: may this spend go ahead? Head office first, the offline limits otherwise.
- ``status()``: online or not, the unconfirmed backlog, the last contact, open corrections; for
  the offline banner and the staff device-status screen.
- ``corrections()`` / ``acknowledge(tx_id)``: head office's corrections stay on screen until staff
  acknowledge them.

The UI never imports this module: it receives the bound methods, so ``kiosk.ui`` keeps depending
on the ledger only. The link has its own SQLite connection and its own MQTT connection.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from kiosk.config import Config
from kiosk.ledger import Ledger
from kiosk.ledger.clock import Clock

from .authorize import Decision, SpendRequest, authorize
from .local import SyncState
from .mqtt import Broker
from .protocol import Codec, Verifier, topics
from .requester import Requester

log = logging.getLogger("sync.link")
ONLINE_WITHIN = timedelta(seconds=90)   # the agent hears from head office at least every 30 s


class KioskLink:
    def __init__(self, db_path: str, *, kiosk_id: str, store_id: str, timezone_name: str,
                 requester: Requester | None, timeout: float = 1.5, clock: Clock | None = None):
        self.ledger = Ledger(db_path, kiosk_id=kiosk_id, store_id=store_id, timezone=timezone_name, clock=clock)
        self.state = SyncState(self.ledger.conn, self.ledger.clock)
        self.requester, self.timeout = requester, timeout

    @classmethod
    def from_config(cls, cfg: Config, db_path: str) -> "KioskLink":
        """Online authorization needs [sync] broker and hq_public_key; without them, offline limits only."""
        kiosk_id, store_id = cfg.get("kiosk", "id"), cfg.get("kiosk", "store_id")
        requester = None
        hq_key = cfg.get("sync", "hq_public_key")
        if hq_key:
            broker = Broker(cfg.get("sync", "broker"), cfg.get("sync", "ca") or None,
                            cfg.get("sync", "ui_cert") or None, cfg.get("sync", "ui_key") or None,
                            cfg.get("sync", "password") or None).check()
            requester = Requester(broker, Codec(kiosk_id, verifier=Verifier.load(hq_key)),
                                  topics.SourceTopics(store_id, kiosk_id, "ui")).start()
        else:
            log.warning("no [sync] hq_public_key: spends are decided by the offline limits only")
        return cls(db_path, kiosk_id=kiosk_id, store_id=store_id, timezone_name=cfg.get("kiosk", "timezone"),
                   requester=requester, timeout=cfg.get("sync", "auth_timeout_ms") / 1000)

    def authorize(self, card_id: str, spend: str, amount: int, *, sku: str | None = None,
                  coupon_code: str | None = None, printed_coupon: str | None = None) -> Decision:
        decision = authorize(self.ledger, SpendRequest(card_id, spend, amount, sku, coupon_code, printed_coupon),
                             self.requester, self.timeout)
        log.info("authorize %s %s %d: %s (%s)", spend, card_id, amount, decision.reason,
                 "online" if decision.online else "offline")
        return decision

    def learn_member(self, card_id: str) -> bool:
        """A member whose personal data this kiosk cannot read (another store's) taps here: ask head
        office for their data key. True when the key came and was kept."""
        if self.requester is None:
            return False
        answer = self.requester.ask("card.lookup", {"card_id": card_id}, self.timeout)
        keys = answer["result"].get("keys", {}) if answer and answer["result"].get("found") else {}
        kept = bool(keys) and not self.ledger.accept_keys(keys)
        log.info("card %s looked up at head office: %s", card_id, "key kept" if kept else "no key")
        return kept

    def status(self, now: datetime | None = None) -> dict:
        now = now or self.ledger.clock.now()
        last = self.state.get("last_hq_contact")
        online = bool(last) and now - datetime.fromisoformat(last.replace("Z", "+00:00")) <= ONLINE_WITHIN
        return {"online": online, "last_contact": last, "backlog": self.ledger.outbox_backlog(),
                "corrections": len(self.state.corrections())}

    def corrections(self) -> list[dict]:
        return self.state.corrections()

    def acknowledge(self, tx_id: str) -> None:
        self.state.acknowledge(tx_id)

    def close(self) -> None:
        if self.requester:
            self.requester.close()
        self.ledger.close()
