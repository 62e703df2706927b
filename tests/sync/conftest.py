"""Fixtures for the sync tests: a real Mosquitto per test, head office's keys, kiosks and hubs
running in threads (the fault tests run them as processes), and the ``--soak`` option."""
from __future__ import annotations

import os
import threading
import time
import uuid
import pytest

from kiosk.ledger import Ledger, pii
from sync.agent import Agent
from sync.hq.db import Db
from sync.hq.hub import Hub
from sync.hq.sources import Sources
from sync.mqtt import Broker
from sync.protocol import generate

from .mosquitto import Mosquitto


def pytest_addoption(parser):
    parser.addoption("--soak", action="store_true", help="run the long fault-injection soak (make soak)")
    parser.addoption("--soak-cycles", type=int, default=120, help="fault cycles in the soak")


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    """Poll until ``predicate()`` is truthy; the deadline only guards against hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Running:
    """Runs an Agent or a Hub in a thread until stopped."""

    def __init__(self, service):
        self.service, self.stop_event = service, threading.Event()
        self.thread = threading.Thread(target=service.run, args=(self.stop_event,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(15)


@pytest.fixture
def broker(tmp_path):
    mosq = Mosquitto(tmp_path / "broker").start()
    yield mosq
    mosq.stop()


@pytest.fixture
def hq_keys(tmp_path):
    generate(tmp_path / "hq.pem", tmp_path / "hq.pub")
    return {"private": str(tmp_path / "hq.pem"), "public": str(tmp_path / "hq.pub")}


@pytest.fixture
def services():
    running: list[Running] = []
    yield running
    for r in reversed(running):
        r.stop()


def enrol(db_url: str, source_id: str, store_id: str = "s1") -> None:
    """Head office's enrolment step (``kiosk-hq enrol``) for a test's source; once per database."""
    db = Db(db_url)
    try:
        if not db.conn.execute("SELECT 1 FROM hq_enrolled WHERE source_id = ?", (source_id,)).fetchone():
            Sources(db).enrol(source_id, store_id)
    finally:
        db.close()


@pytest.fixture
def enrolment():
    """The hubs' databases and the kiosks started so far: every kiosk is enrolled at every hub, as
    a technician does with ``kiosk-hq enrol`` before a kiosk's first sync."""
    hubs: list[str] = []
    kiosks: list[Ledger] = []

    def add(*, hub_db: str | None = None, kiosk: Ledger | None = None) -> None:
        hubs.extend([hub_db] if hub_db and hub_db not in hubs else [])
        kiosks.extend([kiosk] if kiosk else [])
        for url in hubs:
            for ledger in kiosks:
                enrol(url, ledger.kiosk_id, ledger.store_id)
    return add


@pytest.fixture
def start_hub(tmp_path, hq_keys, services, enrolment):
    from sync.protocol import Signer

    def start(broker_url: str, db_url: str | None = None, *, hub_id: str = "hq-1", tls: dict | None = None,
              **options) -> Hub:
        db_url = db_url or f"sqlite:///{tmp_path / 'hq.db'}"
        enrolment(hub_db=db_url)
        hub = Hub(db_url, Broker(broker_url, **(tls or {})), Signer.load(hq_keys["private"]), hub_id=hub_id,
                  **options)
        services.append(Running(hub))
        return hub
    return start


@pytest.fixture
def make_kiosk(tmp_path, chain_key_file):
    """Kiosks provisioned with head office's chain key (so both ends read each other's members)."""
    def make(kiosk_id: str, store_id: str = "s1") -> Ledger:
        return Ledger.create(tmp_path / f"{kiosk_id}.db", kiosk_id=kiosk_id, store_id=store_id,
                             pii_key=pii.load_or_make(chain_key_file))
    return make


@pytest.fixture
def start_agent(hq_keys, services, enrolment):
    def start(ledger: Ledger, broker_url: str, *, tls: dict | None = None, **options) -> Agent:
        enrolment(kiosk=ledger)
        agent = Agent(ledger.path, kiosk_id=ledger.kiosk_id, store_id=ledger.store_id,
                      broker=Broker(broker_url, **(tls or {})), hq_key=hq_keys["public"], **options)
        services.append(Running(agent))
        return agent
    return start


def confirmed_all(ledger: Ledger) -> bool:
    return ledger.outbox_backlog() == 0




PG_ADMIN = os.environ.get("KIOSK_TEST_PG", "postgresql://postgres@localhost:5432/postgres")


def _fresh_pg_database():
    """A new empty database on the local PostgreSQL, or None (with the reason) when unreachable."""
    try:
        import psycopg
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except Exception as exc:      # not installed, not running, no access: the reason is shown in the skip
        return None, f"PostgreSQL not reachable at {PG_ADMIN}: {exc}"
    name = f"kiosk_sync_test_{uuid.uuid4().hex[:10]}"
    admin.execute(f"CREATE DATABASE {name}")
    return (admin, name), ""


@pytest.fixture
def pg_url():
    made, reason = _fresh_pg_database()
    if made is None:
        pytest.skip(reason)
    admin, name = made
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture
def chain_db(tmp_path):
    """PostgreSQL when reachable (what a chain runs), else SQLite shared by the hub processes."""
    made, reason = _fresh_pg_database()
    if made is None:
        print(f"\n{reason}; using SQLite for the hubs")
        yield f"sqlite:///{tmp_path / 'hq.db'}"
        return
    admin, name = made
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()
