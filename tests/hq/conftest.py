"""A small real chain for head-office tests: kiosks (real ledgers) doing counter work at pinned
moments, their journals ingested into a hub database the way the hub does it."""
from __future__ import annotations

import pytest

from kiosk.ledger import REFERENCE_RULES, Ledger, pii
from sync.hq.db import Db
from sync.hq.ingest import Ingest
from sync.hq.retained import Retained

from ..sync.conftest import pg_url  # noqa: F401 (the fixture: a fresh PostgreSQL database, or a skip)

RULES = REFERENCE_RULES.read_text() + """
[[packages]]
code = "WASH10"
name = "10 car washes"
uses = 10
price = "200.00"
valid_days = 90
"""


@pytest.fixture
def hub_db(tmp_path):
    db = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    Retained(db).set_rules(RULES)
    yield db
    db.close()


class Chain:
    """Kiosks of a chain plus the hub database their journals are ingested into."""

    def __init__(self, tmp_path, db: Db, chain_key: bytes):
        self.tmp_path, self.db, self.kiosks, self.ingest = tmp_path, db, {}, Ingest(db)
        self.chain_key = chain_key

    def kiosk(self, kiosk_id: str, store_id: str, staff=("c1",)) -> Ledger:
        k = Ledger.create(self.tmp_path / f"{kiosk_id}.db", kiosk_id=kiosk_id, store_id=store_id, rules_text=RULES,
                          at="2026-01-01T09:00:00+08:00", pii_key=self.chain_key)
        for staff_id in staff:
            k.add_staff(staff_id, staff_id.upper(), "manager" if staff_id.startswith("m") else "cashier", "1234")
        self.kiosks[kiosk_id] = k
        return k

    def sync(self) -> None:
        """Every kiosk's journal into the hub, and every other kiosk's into each kiosk (the feed)."""
        for kiosk_id, k in self.kiosks.items():
            records = k.journal(limit=100000)
            self.ingest.batch(k.store_id, kiosk_id, "kiosk", records, pii.keys_for(k.conn, records))
        for kiosk_id, k in self.kiosks.items():
            for other_id, other in self.kiosks.items():
                if other_id != kiosk_id:
                    records = other.journal(limit=100000)
                    k.accept_keys(pii.keys_for(other.conn, records))
                    for record in records:
                        k.ingest(record, strict=False)

    def records(self) -> list[dict]:
        return [r for k in self.kiosks.values() for r in k.journal(limit=100000)]


@pytest.fixture
def chain(tmp_path, hub_db, chain_key_file):
    """Kiosks provisioned with head office's chain key."""
    c = Chain(tmp_path, hub_db, pii.load_or_make(chain_key_file))
    yield c
    for k in c.kiosks.values():
        k.close()
