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
