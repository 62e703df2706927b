"""The spend guard for a kiosk in a chain: ask head office, and without an answer in time apply
the offline limits head office pushed (the ledger's :class:`~kiosk.ledger.guard.OfflineLimitsGuard`).

The ledger asks its guard before taking the write lock, with everything one transaction would
spend; head office approves all of it or none and reserves what it approved (a hold the arriving
transaction consumes), so two kiosks asking at once cannot both spend the same balance.
"""
from __future__ import annotations

import logging
from typing import Callable

from kiosk.config import Config
from kiosk.ledger.guard import Approval, OfflineLimitsGuard, Spends

from .mqtt import Broker
from .protocol import Codec, Verifier, topics
from .requester import Requester

log = logging.getLogger("sync.authorize")


class HeadOfficeGuard:
    """``connect`` makes the MQTT requester (None: no head-office key configured, the offline limits
    only). Either way this kiosk belongs to a chain: never having heard from head office approves
    nothing. ``eager`` connects at once (the app); otherwise at the first spend, waiting up to the
    timeout for the connection (a one-shot ``kioskctl``)."""

    def __init__(self, connect: Callable[[], Requester] | None, timeout: float = 1.5, *, eager: bool = False):
        self.timeout, self._connect = timeout, connect
        self._requester = connect() if connect and eager else None
        self.offline = OfflineLimitsGuard(chain=True)

    @property
    def requester(self) -> Requester | None:
        if self._requester is None and self._connect is not None:
            self._requester = self._connect()
            self._requester.ready.wait(self.timeout)
        return self._requester

    def approve(self, ledger, member: dict, card_id: str, spends: Spends) -> Approval:
        requester = self.requester
        if requester is not None:
            answer = requester.ask("authorize", {"card_id": card_id, "spends": spends.as_dict()}, self.timeout)
            if answer is not None:
                ledger.heard_from_head_office()
                result = answer["result"]
                return Approval(result["approved"], True, answer["reason"] or "approved", spends, result.get("hold"))
            log.info("head office did not answer within %.1f s: the offline limits decide", self.timeout)
        return self.offline.approve(ledger, member, card_id, spends)

    def close(self) -> None:
        if self._requester is not None:
            self._requester.close()


def guard_from_config(cfg: Config, role: str, *, eager: bool = False) -> HeadOfficeGuard:
    """The guard of one of this kiosk's processes, which asks as ``<kiosk id>.<role>`` ("ui": the app,
    "ctl": kioskctl) with that identity's certificate ([sync] ``<role>_cert``/``<role>_key``). Asking
    online needs [sync] broker and hq_public_key; without the key, the offline limits only."""
    kiosk_id, store_id, hq_key = cfg.get("kiosk", "id"), cfg.get("kiosk", "store_id"), cfg.get("sync", "hq_public_key")
    timeout = cfg.get("sync", "auth_timeout_ms") / 1000
    if not hq_key:
        log.warning("no [sync] hq_public_key: spends are decided by the offline limits only")
        return HeadOfficeGuard(None, timeout)
    broker = Broker(cfg.get("sync", "broker"), cfg.get("sync", "ca") or None, cfg.get("sync", f"{role}_cert") or None,
                    cfg.get("sync", f"{role}_key") or None).check()
    verifier, source = Verifier.load(hq_key), topics.SourceTopics(store_id, kiosk_id, role)

    def connect() -> Requester:
        return Requester(broker, Codec(kiosk_id, verifier=verifier), source).start()
    return HeadOfficeGuard(connect, timeout, eager=eager)
