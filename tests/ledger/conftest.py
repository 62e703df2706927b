import pytest

from kiosk.ledger import Ledger


@pytest.fixture
def led(tmp_path):
    ledger = Ledger.create(tmp_path / "ledger.db", kiosk_id="k1", store_id="s1", at="2026-01-01T08:00")
    yield ledger
    ledger.close()


@pytest.fixture
def member(led):
    """A member whose birthday is in May (so November has no birthday bonus)."""
    led.register(name="张三", phone="13800138000", card_id="C1", birthday="1990-05-17", operator="admin",
                 at="2026-11-01T09:00")
    return "C1"


@pytest.fixture
def early_member(led):
    """The same member, registered at the start of the year (for scenarios that span months)."""
    led.register(name="张三", phone="13800138000", card_id="C1", birthday="1990-05-17", operator="admin",
                 at="2026-01-01T09:00")
    return "C1"


@pytest.fixture
def offline_pair(tmp_path):
    """Two kiosks and a head-office ledger; a member (card ``card``) registered on the first, known
    to all three. Returns ([k1, k2], hq, member_id)."""
    def make(card: str = "C1", at: str = "2026-11-01T09:00"):
        kiosks = [Ledger.create(tmp_path / f"{name}.db", kiosk_id=name, store_id="s1", at="2026-01-01T08:00")
                  for name in ("k1", "k2")]
        hq = Ledger.create(tmp_path / "hq.db", kiosk_id="hq", store_id="hq", at="2026-01-01T08:00")
        register = kiosks[0].register(name="A", phone="13800000000", card_id=card, operator="admin", at=at)
        for ledger in (kiosks[1], hq):
            ledger.ingest(kiosks[0].tx_record(register["tx_id"]))
        return kiosks, hq, register["member_id"]
    return make
