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
from kiosk.ledger import Ledger
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
