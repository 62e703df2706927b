"""What the kiosk app gets from the sync layer; the ``kiosk`` entry point wires it into the UI.

- ``guard``: the spend guard the UI's ledger is opened with (head office first, the offline limits
  otherwise; :mod:`sync.authorize`).
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
from kiosk.ledger import Ledger, journal
from kiosk.ledger.clock import Clock

from .authorize import HeadOfficeGuard, guard_from_config
from .local import SyncState
from .requester import Requester

log = logging.getLogger("sync.link")
ONLINE_WITHIN = timedelta(seconds=90)   # the agent hears from head office at least every 30 s


class KioskLink:
    def __init__(self, db_path: str, *, kiosk_id: str, store_id: str, timezone_name: str, guard: HeadOfficeGuard,
                 clock: Clock | None = None):
        self.ledger = Ledger(db_path, kiosk_id=kiosk_id, store_id=store_id, timezone=timezone_name, clock=clock)
        self.state = SyncState(self.ledger)
        self.guard = guard

    @classmethod
    def from_config(cls, cfg: Config, db_path: str) -> "KioskLink":
        """Online authorization needs [sync] broker and hq_public_key; without them, offline limits only."""
        return cls(db_path, kiosk_id=cfg.get("kiosk", "id"), store_id=cfg.get("kiosk", "store_id"),
                   timezone_name=cfg.get("kiosk", "timezone"), guard=guard_from_config(cfg, "ui", eager=True))

    @property
    def requester(self) -> Requester | None:
        return self.guard.requester

    def learn_member(self, card_id: str) -> bool:
        """A member this kiosk does not hold, or cannot read (another store's), taps here: ask head office
        who they are. Keeps what comes (:func:`keep_looked_up`); their later records then arrive with
        the feed. True when the member was found."""
        if self.requester is None:
            return False
        answer = self.requester.ask("card.lookup", {"card_id": card_id}, self.guard.timeout)
        result = answer["result"] if answer else {}
        if not result.get("found"):
            log.info("card %s looked up at head office: %s", card_id, "not found" if answer else "no answer")
            return False
        refused = keep_looked_up(self.ledger, result)
        log.info("card %s looked up at head office: member %s, %d records, %s", card_id,
                 result["member_id"], len(result.get("records", [])), "key refused" if refused else "key kept")
        return True

    def status(self, now: datetime | None = None) -> dict:
        now = now or self.ledger.clock.now()
        last = self.ledger.head_office_contact()
        online = bool(last) and now - datetime.fromisoformat(last.replace("Z", "+00:00")) <= ONLINE_WITHIN
        return {"online": online, "last_contact": last, "backlog": self.ledger.outbox_backlog(),
                "corrections": len(self.state.corrections())}

    def corrections(self) -> list[dict]:
        return self.state.corrections()

    def acknowledge(self, tx_id: str) -> None:
        self.state.acknowledge(tx_id)

    def close(self) -> None:
        self.guard.close()
        self.ledger.close()


def keep_looked_up(ledger: Ledger, result: dict) -> list[str]:
    """Keep a found ``card.lookup`` answer: the member's records (so their card, lots and stored value
    are known here, offline too), their data key and head office's balance (shown per DESIGN rule 7).
    Returns the members whose key the chain key did not open."""
    member_id = result["member_id"]
    for record in result.get("records", []):
        concerns = record["member_id"] == member_id or member_id in journal.others(record)
        if concerns and record["kiosk_id"] != ledger.kiosk_id:
            ledger.ingest(record, strict=False)
    ledger.keep_balances([result["balance"]])
    return ledger.accept_keys(result.get("keys", {}))
