"""kioskctl spends through the same guard as the app: head office when a head-office key is
configured, the offline limits otherwise; past the limits every spend is refused (exit 3, one line,
nothing written)."""
from __future__ import annotations

import json

import pytest

from kiosk.cli import main
from kiosk.ledger import Ledger
from sync.protocol import generate
from tests.spending import SPENDS, ZERO, enrol, prepare, written
from tests.sync.mosquitto import Mosquitto

CTL_SPENDS = sorted(name for name, (_, argv) in SPENDS.items() if argv)


@pytest.fixture(scope="module")
def silent_broker(tmp_path_factory):
    """A real broker with no head office behind it: questions are published and never answered."""
    mosq = Mosquitto(tmp_path_factory.mktemp("broker")).start()
    yield mosq
    mosq.stop()


def kioskctl(capsys, config, argv) -> tuple[int, str, str]:
    status = main(["--config", str(config), "--json", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def write_config(tmp_path, sync: str = "") -> object:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[kiosk]\ndb = "{tmp_path / "k.db"}"\nid = "k1"\nstore_id = "s1"\n{sync}')
    return path


@pytest.fixture
def kiosk(tmp_path):
    prepare(tmp_path / "k.db")
    enrol(tmp_path / "k.db", ZERO)
    return tmp_path


@pytest.mark.parametrize("name", CTL_SPENDS)
def test_without_head_office_key_the_offline_limits_refuse(kiosk, capsys, name):
    config = write_config(kiosk)
    with Ledger(kiosk / "k.db") as led:
        before = written(led)
    status, out, err = kioskctl(capsys, config, SPENDS[name][1])
    assert (status, json.loads(out)["code"]) == (3, "offline_limit_per_transaction"), err
    assert err.count("\n") == 1 and "offline limits" in err
    with Ledger(kiosk / "k.db") as led:
        assert written(led) == before


def test_when_head_office_does_not_answer_the_offline_limits_refuse(kiosk, capsys, silent_broker):
    generate(kiosk / "hq.pem", kiosk / "hq.pub")
    config = write_config(kiosk, f'[sync]\nbroker = "{silent_broker.url}"\nhq_public_key = "{kiosk / "hq.pub"}"\n'
                                 'auth_timeout_ms = 100\n')
    with Ledger(kiosk / "k.db") as led:
        before = written(led)
    for name in CTL_SPENDS:
        status, out, err = kioskctl(capsys, config, SPENDS[name][1])
        assert (status, json.loads(out)["code"]) == (3, "offline_limit_per_transaction"), (name, err)
    with Ledger(kiosk / "k.db") as led:
        assert written(led) == before


def test_a_kiosk_with_a_head_office_key_that_never_reached_it_spends_nothing(tmp_path, capsys, silent_broker):
    prepare(tmp_path / "k.db")                                  # standalone until now
    generate(tmp_path / "hq.pem", tmp_path / "hq.pub")
    config = write_config(tmp_path, f'[sync]\nbroker = "{silent_broker.url}"\n'
                                    f'hq_public_key = "{tmp_path / "hq.pub"}"\nauth_timeout_ms = 100\n')
    status, out, _ = kioskctl(capsys, config, SPENDS["stored value"][1])
    assert (status, json.loads(out)["code"]) == (3, "offline_never_synced")
    status, out, _ = kioskctl(capsys, config, ["tx", "earn", "--card", "A", "--amount", "10"])
    assert status == 0                                          # earning needs no one's approval


def test_an_unreadable_head_office_key_still_leaves_the_offline_limits_in_charge(kiosk, capsys, caplog):
    config = write_config(kiosk, f'[sync]\nhq_public_key = "{kiosk / "missing.pub"}"\n')
    status, out, _ = kioskctl(capsys, config, SPENDS["gift"][1])
    assert (status, json.loads(out)["code"]) == (3, "offline_limit_per_transaction")
    assert any("cannot ask head office" in r.getMessage() and "missing.pub" in r.getMessage() for r in caplog.records)
