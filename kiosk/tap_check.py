"""What a card tap means at this kiosk, decided as the app decides it (for ``kioskctl doctor``).

The same verifier (``CardVerifier.from_config`` with the NTAG 424 counters kept in the ledger
file) and the same ledger look-up (``services.read_card``) as the touchscreen app.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from drivers.cards import CardVerifier
from drivers.events import CardPresented
from drivers.sun import MemoryCounterStore
from drivers.verdict import BAD_SIGNATURE, MALFORMED, NO_KEY, NOT_ACCEPTED, REPLAYED, Refused

from .ledger import Ledger, LedgerError
from .ledger.schema import is_ledger_file
from .replay_guard import SqliteCounterStore
from .ui import services

REFUSED = {BAD_SIGNATURE: "forged", MALFORMED: "forged", REPLAYED: "copied", NOT_ACCEPTED: "not accepted here",
           NO_KEY: "cannot be checked (key not configured)"}


def card_meaning(cards: dict, db: str | Path, open_ledger: Callable[[], Ledger]) -> Callable[[CardPresented], dict]:
    """``meaning(event)`` -> ``{"meaning", "ok", "why"}``; raises ValueError for a malformed key in [cards]."""
    counters = SqliteCounterStore(str(db)) if is_ledger_file(db) else MemoryCounterStore()
    verifier = CardVerifier.from_config(cards, counters)

    def meaning(event: CardPresented) -> dict:
        verdict = verifier.check(event.uid, event.ndef)
        if isinstance(verdict, Refused):
            return {"meaning": REFUSED.get(verdict.reason, "unknown"), "ok": False, "why": verdict.detail}
        try:
            with open_ledger() as led:
                found = services.read_card(led, verdict.card_id, counter=verdict.counter, proof=verdict.proof)
        except LedgerError as exc:
            return {"meaning": f"{verdict.kind} card verified; not looked up", "ok": False, "why": str(exc)}
        kind = found["kind"]
        if kind == "staff":
            return {"meaning": "staff card", "ok": True, "why": f"{found['staff_id']} ({found['role']})"}
        if kind == "member":
            return {"meaning": "member card ok", "ok": True, "why": f"{verdict.kind} card {verdict.card_id}"}
        if kind == "deferred":
            return {"meaning": "another store's member", "ok": True,
                    "why": f"card {verdict.card_id} of member {verdict.member_id}: head office credits their purchases"}
        if kind == "refused":
            return {"meaning": "blocked", "ok": False, "why": found["code"]}
        return {"meaning": "unknown", "ok": False, "why": f"card {verdict.card_id} is not registered here"}
    return meaning
