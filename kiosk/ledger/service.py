"""The base of the ledger's subject services (members, points, value, purchases, ...).

:class:`~kiosk.ledger.Ledger` is a facade over one :class:`~kiosk.ledger.core.LedgerCore` (the
connection, clock, rules, identity, write transactions and shared look-ups) and the services it
composes from it, as Mopidy's backend is composed of library, playback and playlist providers. A
service holds the core by composition and names the other services it uses in its constructor;
it never reaches another service's methods through inheritance.
"""
from __future__ import annotations

from .core import LedgerCore


def _core(name: str) -> property:
    """An attribute of the core, read through (for bodies written as ``self.conn``, ``self.rules``)."""
    return property(lambda self: getattr(self.core, name), doc=f"The core's ``{name}``.")


class Service:
    def __init__(self, core: LedgerCore):
        self.core = core

    conn = _core("conn")
    rules = _core("rules")
    tz = _core("tz")
    clock = _core("clock")
    kiosk_id = _core("kiosk_id")
    store_id = _core("store_id")
    phone_region = _core("phone_region")
    guard = _core("guard")
    transaction = _core("transaction")
    moment = _core("moment")
    local_moment = _core("local_moment")
    now_text = _core("now_text")
    member_for_card = _core("member_for_card")
    require_role = _core("require_role")
    require_reason = _core("require_reason")
    tx_record = _core("tx_record")
    meta = _core("meta")
    set_meta = _core("set_meta")
    _joined_write = _core("_joined_write")
