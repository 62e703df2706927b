"""May this spend go ahead? Ask head office first; without an answer in time, apply the
offline limits head office pushed (per transaction, per member per day, per kiosk in total,
and only within the offline window since head office was last heard from).

The UI calls :func:`authorize` before spending points, stored value, a coupon or a gift;
offline approvals are recorded so the limits add up across the day.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from kiosk.ledger import Ledger, LedgerError
from kiosk.ledger.dates import to_utc_text

from .local import SyncState
from .protocol.limits import DEFAULT_LIMITS
from .requester import Requester

UNITS = {"points": "points", "gift": "points", "stored_value": "fen", "coupon": "fen"}


@dataclass(frozen=True)
class SpendRequest:
    card_id: str
    spend: str          # points | stored_value | coupon | gift
    amount: int         # points for points/gift, fen for stored_value/coupon (its face value)
    sku: str | None = None
    coupon_code: str | None = None
    printed_coupon: str | None = None   # "<campaign>:<serial>" of a verified printed coupon


@dataclass(frozen=True)
class Decision:
    approved: bool
    online: bool
    reason: str
    balance: dict | None = None


def authorize(ledger: Ledger, request: SpendRequest, client: Requester | None, timeout: float = 2.0, *,
              now: datetime | None = None) -> Decision:
    if request.spend not in UNITS or request.amount <= 0:
        return Decision(False, False, "invalid_request")
    try:
        member = ledger.member_for_card(request.card_id)
    except LedgerError as exc:
        return Decision(False, False, exc.code)
    state = SyncState(ledger)
    if client is not None:
        args = {"card_id": request.card_id, "spend": request.spend, "amount": request.amount}
        args.update({k: v for k, v in (("sku", request.sku), ("coupon_code", request.coupon_code),
                                       ("printed_coupon", request.printed_coupon)) if v})
        answer = client.ask("authorize", args, timeout)
        if answer is not None:
            state.touch()
            result = answer["result"]
            return Decision(result["approved"], True, answer["reason"] or "approved", result.get("balance"))
    return _offline(ledger, state, request, member["member_id"], now or ledger.clock.now())


def _offline(ledger: Ledger, state: SyncState, request: SpendRequest, member_id: str, now: datetime) -> Decision:
    limits = state.get("limits") or DEFAULT_LIMITS
    unit = UNITS[request.spend]
    last = state.get("last_hq_contact")
    if last is None:
        return Decision(False, False, "offline_never_synced")
    since = datetime.fromisoformat(last.replace("Z", "+00:00"))
    if now - since > timedelta(hours=limits["window_hours"]):
        return Decision(False, False, "offline_window_passed")
    cap = limits[unit]
    day = now.astimezone(ledger.tz).date().isoformat()
    with state.write() as conn:
        (member_day,) = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM sync_offline_spends WHERE member_id = ?"
                                     " AND unit = ? AND day = ?", (member_id, unit, day)).fetchone()
        (kiosk_total,) = conn.execute("SELECT COALESCE(SUM(amount), 0) FROM sync_offline_spends WHERE unit = ?"
                                      " AND at >= ?", (unit, last)).fetchone()
        for reason, used, limit in (("offline_limit_per_transaction", 0, cap["per_tx"]),
                                    ("offline_limit_member_day", member_day, cap["member_day"]),
                                    ("offline_limit_kiosk_total", kiosk_total, cap["kiosk_total"])):
            if used + request.amount > limit:
                return Decision(False, False, reason)
        conn.execute("INSERT INTO sync_offline_spends (auth_id, card_id, member_id, unit, amount, day, at)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (str(uuid.uuid4()), request.card_id, member_id, unit, request.amount, day, to_utc_text(now)))
    return Decision(True, False, "approved_offline")
