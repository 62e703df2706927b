"""Everything the UI needs to know about this kiosk, gathered once by the entry point."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

from kiosk.ledger import Ledger, SpendGuard
from kiosk.ledger.clock import Clock, from_env


class HeadOffice(Protocol):
    """What the sync layer offers the UI (``sync.kiosk_link.KioskLink``), handed in by the entry point
    so that the UI depends on the ledger only. ``guard`` is the spend guard the UI's ledger is opened
    with: the ledger asks it (on the worker thread, where it may wait for head office) before a spend."""

    guard: SpendGuard

    def status(self) -> dict: ...                             # online, last_contact, backlog

    def learn_member(self, card_id: str) -> bool: ...         # another store's member: ask head office who they are

    def corrections(self) -> list[dict]: ...

    def acknowledge(self, tx_id: str) -> None: ...


@dataclass
class KioskContext:
    db: Path
    kiosk_id: str = "kiosk-01"
    store_id: str = "store-01"
    store_name: str = "Demo Store"
    timezone: str = "Asia/Shanghai"
    phone_region: str = "CN"
    language: str = "zh_CN"
    idle_timeout_s: int = 30
    cards: dict = field(default_factory=dict)       # the [cards] config section
    codes: dict = field(default_factory=dict)       # the [codes] config section
    nfc: list[str] = field(default_factory=list)
    scanners: list[str] = field(default_factory=list)
    simulate: bool = False
    automation: str | None = None                   # socket path for tests and the scripted demo
    head_office: HeadOffice | None = None           # None: no sync configured (simulation, development)
    clock: Clock = field(default_factory=from_env)  # the one clock of this process (tests pin it)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def today(self):
        """The store's local date now (the date picker's last selectable day)."""
        return self.clock.now().astimezone(self.tz).date()

    def open_ledger(self) -> Ledger:
        """Spends are guarded by the sync link's guard; without a link (simulation), by the offline limits."""
        return Ledger(self.db, kiosk_id=self.kiosk_id, store_id=self.store_id, timezone=self.timezone,
                      phone_region=self.phone_region, clock=self.clock,
                      guard=self.head_office.guard if self.head_office is not None else None)
