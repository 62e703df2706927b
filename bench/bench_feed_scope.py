"""Feed records served per record ingested (issue 15, "Feed"), printed as ONE JSON line.

A chain of ``--stores`` x ``--kiosks`` real kiosk ledgers, ``--members`` members registered at each
store, each making ``--visits`` purchases at the kiosk they registered at; ``--away`` of every store's
members also tap once at the next store (a ``card.lookup`` there, then a purchase). Every journal goes
into a SQLite head office the way the hub ingests it, then every kiosk follows the feed page by page
(sync/hq/authority.py) as its agent does.

- ``served_per_ingested``: records served in feed pages / records ingested, store-scoped (this release).
- ``chain_wide_served_per_ingested``: the same for the chain-wide feed before it: every kiosk was sent
  every record but its own (counted, not served).
- ``looked_up_records``: records sent with the look-ups' answers (a member's records so far).
- ``rows_scanned_per_served``: rows a page reads per record it serves: the store's rows in the page's range
  (``hq_store_log``, this release); ``chain_rows_scanned_per_served``: every feed position in the same
  ranges, what a page read before the per-store rows (other stores' rows, filtered out one by one).

Run: ``make bench-feed`` (``--stores 10`` etc. to see how the two grow).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kiosk.ledger import REFERENCE_RULES, Ledger, lines_from_amount, pii  # noqa: E402
from sync.hq.authority import Authority  # noqa: E402
from sync.hq.db import Db  # noqa: E402
from sync.hq.ingest import Ingest  # noqa: E402
from sync.hq.retained import Retained  # noqa: E402
from sync.kiosk_link import keep_looked_up  # noqa: E402

DAY = "2026-03-05T{:02d}:{:02d}:00+08:00"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stores", type=int, default=3)
    ap.add_argument("--kiosks", type=int, default=2, help="kiosks per store")
    ap.add_argument("--members", type=int, default=20, help="members registered at each store")
    ap.add_argument("--visits", type=int, default=3, help="purchases per member at home")
    ap.add_argument("--away", type=float, default=0.1, help="share of members who also tap at the next store")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(run(Path(tmp), args)))


def run(work: Path, args) -> dict:
    key_file = work / "chain.key"
    chain_key = pii.load_or_make(key_file)
    db = Db(f"sqlite:///{work / 'hq.db'}", key_file)
    Retained(db).set_rules(REFERENCE_RULES.read_text())
    ingest, authority = Ingest(db, rederive=False), Authority(db)
    stores = [f"s{s}" for s in range(1, args.stores + 1)]
    kiosks = {s: [Ledger.create(work / f"{s}k{k}.db", kiosk_id=f"{s}k{k}", store_id=s,
                                rules_text=REFERENCE_RULES.read_text(), at=DAY.format(8, 0), pii_key=chain_key)
                  for k in range(1, args.kiosks + 1)] for s in stores}
    sent: dict[str, int] = {}

    def push(k: Ledger) -> None:
        mark = sent.get(k.kiosk_id, 0)
        records = [r for r in k.journal(limit=10**6) if r["kiosk_id"] == k.kiosk_id and r["seq"] > mark]
        sent[k.kiosk_id] = ingest.batch(k.store_id, k.kiosk_id, "kiosk", records, pii.keys_for(k.conn, records)).hwm

    cards = {s: [] for s in stores}
    for s in stores:
        for m in range(args.members):
            k = kiosks[s][m % args.kiosks]
            card = f"C-{s}-{m}"
            k.register(phone=f"1380{stores.index(s):03d}{m:04d}", card_id=card, operator="admin", at=DAY.format(9, 0))
            for v in range(args.visits):
                k.purchase(card, lines_from_amount(10000 + 100 * v), operator="admin", at=DAY.format(10 + v, m % 60))
            cards[s].append(card)
    for s in stores:
        for k in kiosks[s]:
            push(k)
    looked_up = 0
    for i, s in enumerate(stores):                 # some members tap at the next store: looked up, then buy
        there = kiosks[stores[(i + 1) % len(stores)]][0]
        for card in cards[s][:int(args.members * args.away)]:
            _, found = authority.card_lookup({"card_id": card, "store_id": there.store_id, "source_id": there.kiosk_id})
            keep_looked_up(there, found)
            looked_up += len(found["records"])
            there.purchase(card, lines_from_amount(5000), operator="admin", at=DAY.format(20, 0))
        push(there)
    ingested = authority.head()
    served = scanned = chain_scanned = 0
    for k in (k for s in stores for k in kiosks[s]):
        position = 0
        while position < ingested:
            _, page = authority.feed({"after": position, "limit": 500, "source_id": k.kiosk_id, "store_id": k.store_id})
            served += len(page["records"])
            span = (position, page["last"])
            scanned += db.conn.execute("SELECT COUNT(*) FROM hq_store_log WHERE store_id = ? AND hq_seq > ?"
                                       " AND hq_seq <= ?", (k.store_id, *span)).fetchone()[0]
            chain_scanned += db.conn.execute("SELECT COUNT(*) FROM hq_log WHERE hq_seq > ? AND hq_seq <= ?",
                                             span).fetchone()[0]
            position = page["last"]
    own = sum(sent.values())
    chain_wide = ingested * len(sent) - own
    db.close()
    return {"stores": args.stores, "kiosks_per_store": args.kiosks, "members_per_store": args.members,
            "records_ingested": ingested, "records_served": served, "looked_up_records": looked_up,
            "served_per_ingested": round(served / ingested, 3),
            "chain_wide_served_per_ingested": round(chain_wide / ingested, 3),
            "rows_scanned_per_served": round(scanned / served, 2),
            "chain_rows_scanned_per_served": round(chain_scanned / served, 2)}


if __name__ == "__main__":
    main()
