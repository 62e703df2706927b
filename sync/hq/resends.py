"""Batches head office already holds, answered without applying them again (issue 15, docs/sync.md "Resends").

In a storm a hub's inbox holds the kiosks' windows and, behind them, the batches the kiosks sent again
because the acknowledgement was slow: most records a hub took were resends, each validated and run
through a write transaction only to be counted a duplicate, while the acknowledgements queued behind
them. A batch whose every record head office has already journaled (or rejected) at the same sequence
number, with the same ``tx_id``, below the source's mark, is answered from what head office holds: the
mark, and the corrections made for those records (a kiosk whose first ack was lost must hear them) in
three reads, with no lock, no write and no schema validation, since nothing of it is applied.
Anything else (a new record, a different ``tx_id`` at a known sequence number: a conflict that must
raise its alert, a held source, a body that does not fit) takes the full path. A payload is parsed once, by the protocol's
guarded parser (depth, size, integers), for this check and the full path's validation.
"""
from __future__ import annotations

from .ingest import placed, stored_corrections


def pure_resend(env, store_id: str, source_id: str) -> tuple[str, list[tuple[int, str]]] | None:
    """(channel, [(seq, tx_id), ...]) of a record batch from ``source_id`` of ``store_id``, read from the
    parsed payload (``envelope.parse``) without validating it; None when it is not plainly one (the full
    path then says why)."""
    try:
        body = env["body"]
        records = [(r["seq"], r["tx_id"]) for r in body["records"]
                   if r["kiosk_id"] == source_id and r["store_id"] == store_id]
        plain = (env["type"] == "tx.batch" and isinstance(env["channel"], str) and body["source_id"] == source_id
                 and body["store_id"] == store_id and records and len(records) == len(body["records"])
                 and all(type(seq) is int and isinstance(tx_id, str) for seq, tx_id in records))
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return (env["channel"], records) if plain else None


def answer(conn, source_id: str, records: list[tuple[int, str]]) -> dict | None:
    """The acknowledgement for records head office holds exactly as sent, or None."""
    row = conn.execute("SELECT hwm, (SELECT COUNT(*) FROM hq_parked WHERE source_id = ?) FROM hq_sources"
                       " WHERE source_id = ? AND held IS NULL", (source_id, source_id)).fetchone()
    seqs = [seq for seq, _ in records]
    if row is None or max(seqs) > row[0]:
        return None
    low, high = min(seqs), max(seqs)
    holding = placed(conn, source_id, low, high)
    if any(holding.get(seq) != tx_id for seq, tx_id in records):
        return None
    corrections = stored_corrections(conn, source_id, low, high)
    return {"source_id": source_id, "hwm": row[0], "held": row[1], "corrections": corrections, "balances": []}
