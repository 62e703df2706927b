"""The load tool: many kiosks from one process against a real broker and real hubs.

Each simulated kiosk is a real sync agent (:class:`sync.agent.Agent`): its own ledger file with its
own outbox, sequence numbers and hash chain, its own MQTT client and client id (with its own
certificate when ``certs`` is given), the same envelopes, batches, windows, resends and signed
confirmations as a kiosk. Only the threads differ: one loop turns every agent's network I/O and
step, so a thousand kiosks cost one process, not two thousand threads. The sockets are watched with
``selectors`` (epoll) through paho's external-loop calls: paho's own ``loop()`` uses ``select()``,
which cannot watch a file descriptor above 1024, and a thousand kiosks hold four thousand. By default they only send
(``follow_feed=False``): a thousand kiosks each applying the chain-wide feed would measure the
kiosks, not head office.

Used by ``make bench-hq-ingest`` (bench/bench_hq_ingest.py) and tests/sync/test_loadtool.py.
"""
from __future__ import annotations

import logging
import selectors
import time
from pathlib import Path
from typing import Callable

import paho.mqtt.client as mqtt

from kiosk.ledger import Ledger

from .agent import Agent
from .hq.db import Db
from .hq.sources import Sources
from .mqtt import Broker, connect_properties

log = logging.getLogger("sync.loadtool")
TICK = 1.0      # seconds between passes over every kiosk (the agents' resend timeouts are 5 s and more)


class Swarm:
    def __init__(self, folder: str | Path, *, kiosks: int, per_kiosk: int, stores: int = 1, prefix: str = "lt",
                 pii_key: bytes | None = None):
        """Kiosks spread over ``stores`` stores (s1, s2, ...: the feed is scoped to a store); ``pii_key``: the
        chain's personal-data key the kiosks are provisioned with (head office's)."""
        self.folder, self.per_kiosk, self.pii_key = Path(folder), per_kiosk, pii_key
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ids = [f"{prefix}{n:05d}" for n in range(kiosks)]
        self.store = {kiosk_id: f"s{n % stores + 1}" for n, kiosk_id in enumerate(self.ids)}
        self.agents: list[Agent] = []
        self.by_client: dict[mqtt.Client, Agent] = {}
        self.next_tick, self.pending = 0.0, False
        self.retry_at: dict[str, float] = {}
        self.selector = selectors.DefaultSelector()

    def path(self, kiosk_id: str) -> Path:
        return self.folder / f"{kiosk_id}.db"

    def fill(self) -> int:
        """Each kiosk's ledger with one member and ``per_kiosk`` unsent transactions (made offline)."""
        for n, kiosk_id in enumerate(self.ids):
            ledger = Ledger.create(self.path(kiosk_id), kiosk_id=kiosk_id, store_id=self.store[kiosk_id],
                                   pii_key=self.pii_key)
            ledger.conn.execute("PRAGMA synchronous=OFF")    # made-up backlog: no need to wait for the disk
            try:
                card = f"{kiosk_id}-card"
                ledger.register(name=f"Load {kiosk_id}", phone=f"139{n:08d}", card_id=card, operator="admin")
                while ledger.outbox_backlog() < self.per_kiosk:
                    ledger.topup(card, 100 + n % 900, operator="admin")
            finally:
                ledger.close()
        return len(self.ids) * self.per_kiosk

    def enrol(self, db_url: str) -> None:
        """What ``kiosk-hq enrol`` does for every simulated kiosk."""
        db = Db(db_url)
        try:
            sources = Sources(db)
            for kiosk_id in self.ids:
                sources.enrol(kiosk_id, self.store[kiosk_id])
        finally:
            db.close()

    def connect(self, broker: Broker, hq_key: str, *, certs: Path | None = None, follow_feed: bool = False,
                **agent_options) -> None:
        """Every kiosk connects at once, as after a regional outage (``certs``: ``<id>.crt``/``<id>.key``).

        All agents are made first, then connected in one quick pass: opening a thousand ledgers takes a
        minute or two on a busy machine, and a kiosk connected at its start would find its CONNACK unread
        past the 60 s keepalive at the first turn, and drop the connection ("Keep alive timeout")."""
        for kiosk_id in self.ids:
            own = Broker(broker.url, broker.ca, str(certs / f"{kiosk_id}.crt"), str(certs / f"{kiosk_id}.key")) \
                if certs else broker
            agent = Agent(str(self.path(kiosk_id)), kiosk_id=kiosk_id, store_id=self.store[kiosk_id], broker=own,
                          hq_key=hq_key, follow_feed=follow_feed, **agent_options)
            self.agents.append(agent)
            self.by_client[agent.client] = agent
        for agent in self.agents:
            self._connect(agent)

    def _connect(self, agent: Agent) -> None:
        # One pass over a thousand kiosks takes seconds on a busy machine: paho's 5 s wait for the CONNACK
        # would close connections the broker has already accepted, again and again.
        agent.client.connect_timeout = 120
        agent.client.on_socket_open = lambda client, userdata, sock: self.selector.register(sock, selectors.EVENT_READ,
                                                                                            client)
        agent.client.on_socket_close = lambda client, userdata, sock: self.selector.unregister(sock)
        try:
            agent.client.connect(agent.broker.host, agent.broker.port, keepalive=60, clean_start=False,
                                 properties=connect_properties())
        except OSError as exc:
            log.warning("%s could not connect: %s", agent.topics.source, exc)
            self.retry_at[agent.topics.source] = time.monotonic() + 1

    def turn(self) -> None:
        """Read what arrived and step the kiosks it arrived for (confirmations in, next batches out); once a
        ``TICK`` every kiosk's keepalive, reconnect and step (resend timers, which count in seconds); then
        write what any kiosk has queued. Stepping a thousand idle kiosks on every pass cost a whole core
        (about 170 us each), which the hubs under test need on a small machine."""
        wait = 0.01 if self.pending else max(0.0, min(TICK, self.next_tick - time.monotonic()))
        ready = [key.data for key, _events in self.selector.select(timeout=wait)]
        for client in ready:
            client.loop_read()
        now = time.monotonic()
        if now >= self.next_tick:
            self.next_tick = now + TICK
            for agent in self.agents:
                lost = agent.client.loop_misc() in (mqtt.MQTT_ERR_NO_CONN, mqtt.MQTT_ERR_CONN_LOST)
                if lost and now >= self.retry_at.get(agent.topics.source, 0):
                    self.retry_at[agent.topics.source] = now + 1
                    try:
                        agent.client.reconnect()
                    except OSError:
                        pass
                agent.step()
        else:
            for client in ready:
                self.by_client[client].step()
        self.pending = False        # a socket too full to take all: write again soon
        for agent in self.agents:
            if agent.client.want_write():
                agent.client.loop_write()
                self.pending = self.pending or agent.client.want_write()

    def backlog(self) -> int:
        return sum(agent.ledger.outbox_backlog() for agent in self.agents)

    def drain(self, timeout: float, during: Callable[[int], None] | None = None, every: float = 1.0) -> float:
        """Turn until every kiosk's outbox is confirmed; seconds taken. ``during(backlog left)`` runs at
        each check, ``every`` seconds (a hub is killed there). TimeoutError after ``timeout``."""
        started = time.monotonic()
        next_check = started
        while True:
            self.turn()
            now = time.monotonic()
            if now >= next_check:
                left = self.backlog()
                if during:
                    during(left)
                if not left:
                    return now - started
                if now - started > timeout:
                    raise TimeoutError(f"{left} transactions still unconfirmed after {timeout:.0f} s")
                next_check = now + every

    def ledgers(self) -> dict[str, Ledger]:
        """Each kiosk's ledger (the agents' own connections), for the fault tests' checker."""
        return {agent.topics.source: agent.ledger for agent in self.agents}

    def close(self) -> None:
        for agent in self.agents:
            agent.client.disconnect()
            agent.client.loop_write()
            agent.ledger.close()
        self.selector.close()
        self.agents.clear()
        self.by_client.clear()
