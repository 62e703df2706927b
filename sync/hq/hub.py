"""The hub process: MQTT in, authoritative ledger, confirmations and answers out.

Hubs subscribe through an MQTT 5 shared subscription (``$share/<group>/...``) so several
processes split the sources' traffic; each message is handled to completion (database commit,
then the signed reply) inside paho's callback, and paho acknowledges it to the broker only
after that returns. Anything a hub dies holding is resent by its kiosk, which keeps every
unconfirmed transaction until a confirmation arrives.
"""
from __future__ import annotations

import json
import logging
import threading
from collections import Counter

from ..mqtt import Broker, make_client, start, stop
from kiosk.ledger.clock import Clock, from_env

from ..protocol import Codec, Dropped, Signer, topics
from kiosk.sdnotify import Watchdog
from .authority import Authority
from .db import Db
from .ingest import Ingest
from .retained import Retained

log = logging.getLogger("sync.hq")
MAX_RECORD_BYTES = 64 * 1024      # a purchase of a hundred lines is ~20 kB; more is not a kiosk's record


class Hub:
    def __init__(self, db_url: str, broker: Broker, signer: Signer, *, hub_id: str = "hq-1", group: str = "hq",
                 hold_on_overdraft: bool = False, clock: Clock | None = None, timezone: str = "Asia/Shanghai"):
        clock = clock or from_env()
        self.db = Db(db_url)
        self.ingest = Ingest(self.db, hold_on_overdraft=hold_on_overdraft, clock=clock, timezone=timezone)
        self.authority = Authority(self.db, clock, timezone)
        self.retained = Retained(self.db, clock)
        self.codec = Codec(hub_id, "hq", signer=signer, clock=clock)
        self.failure: BaseException | None = None
        self.stats: Counter = Counter()     # batches, records applied, requests answered
        self.hub_id, self.group, self.broker = hub_id, group, broker
        self.published: dict[str, int] = {}
        self.lock = threading.RLock()      # one database user at a time
        self.client = make_client(broker, hub_id, will=(topics.hub_status(hub_id), self._status("offline")))
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_disconnect = lambda c, u, f, rc, p: log.warning("disconnected from %s: %s", broker.url, rc)

    def _status(self, state: str) -> bytes:
        return self.codec.pack("status", {"state": state})

    # -- MQTT ----------------------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            log.error("broker %s refused the hub: %s", self.broker.url, reason)
            return
        log.info("connected to %s as %s (session present: %s)", self.broker.url, self.hub_id, flags.session_present)
        client.subscribe([(topics.shared(self.group, topic), 1) for topic in (topics.ALL_TX, topics.ALL_REQ)])
        client.publish(topics.hub_status(self.hub_id), self._status("online"), qos=1, retain=True)
        self.published.clear()     # republish retained data: the broker may have lost it
        self.publish_changes()

    def _on_message(self, client, userdata, msg) -> None:
        try:
            store, source, leaf = topics.parse_source(msg.topic)
            with self.lock:
                if leaf == "tx":
                    self._batch(store, source, msg.payload)
                elif leaf == "req":
                    self._request(store, source, msg.payload)
        except ValueError as exc:       # Dropped included: bad input changes nothing
            log.warning("dropped message on %s: %s", msg.topic, exc)
        except self.db.fatal as exc:    # the database is gone: stop, let systemd restart us
            log.error("database failure on %s: %s", msg.topic, exc)
            self.failure = exc
        except Exception:
            log.exception("could not handle message on %s", msg.topic)

    def _batch(self, store: str, source: str, payload: bytes) -> None:
        env = self.codec.unpack(payload, {"tx.batch"})
        body = env["body"]
        strangers = {(r["store_id"], r["kiosk_id"]) for r in body["records"]} - {(store, source)}
        if (body["store_id"], body["source_id"]) != (store, source) or strangers:
            raise Dropped(f"records claim another source than the topic's {store}/{source}")
        for record in body["records"]:
            size = len(json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode())
            if size > MAX_RECORD_BYTES:
                raise Dropped(f"record seq {record['seq']} of {source} is {size} bytes (at most {MAX_RECORD_BYTES})")
        out = self.ingest.batch(store, source, env["channel"], body["records"])
        self.stats.update(batches=1, applied=out.applied)
        st = topics.SourceTopics(store, source)
        self.client.publish(st.ack, self.codec.pack("ack", {
            "source_id": source, "hwm": out.hwm, "held": out.held, "corrections": out.corrections,
            "balances": out.balances}), qos=1)
        if out.applied:
            self.client.publish(topics.FEED, self.codec.pack("feed.head", {"head": out.head}), qos=1, retain=True)
        for alert in out.alerts:
            self.client.publish(topics.ALERTS, self.codec.pack("alert", alert), qos=1)
        if out.held_cards:          # the new block list version was committed with the batch
            self.publish_changes()

    def _request(self, store: str, source: str, payload: bytes) -> None:
        env = self.codec.unpack(payload, {"request"})
        body = env["body"]
        if self.codec.now() > body["deadline"]:
            log.info("late request %s %s from %s: not answered", body["kind"], body["req_id"], source)
            return
        self.stats.update(requests=1)
        args = {**body["args"], "store_id": store, "source_id": source}
        reason, result = self.authority.answer(body["kind"], args)
        log.info("request %s %s from %s: %s", body["kind"], body["req_id"], source, reason or "ok")
        self.client.publish(topics.SourceTopics(store, source).resp, self.codec.pack("response", {
            "req_id": body["req_id"], "kind": body["kind"], "reason": reason, "result": result}), qos=1)

    def publish_changes(self) -> None:
        """Publish (retained, signed) every piece of head-office data newer than last published."""
        with self.lock:
            versions = self.retained.versions()
            for name, version in sorted(versions.items()):
                if self.published.get(name) == version:
                    continue
                topic, type_, body = self.retained.message(name)
                self.client.publish(topic, self.codec.pack(type_, body), qos=1, retain=True)
                self.published[name] = version
                log.info("published %s version %d", name, version)
            head = self.ingest.head()
            if self.published.get("feed") != head:
                self.client.publish(topics.FEED, self.codec.pack("feed.head", {"head": head}), qos=1, retain=True)
                self.published["feed"] = head

    # -- lifecycle -----------------------------------------------------------------------------
    def run(self, stop_event: threading.Event, poll: float = 1.0) -> None:
        watchdog = Watchdog()
        start(self.client, self.broker)
        watchdog.ready(f"hub {self.hub_id} on {self.db.dialect}")
        try:
            while not stop_event.wait(poll):
                if self.failure is not None:
                    raise RuntimeError(f"hub stopped after a database failure: {self.failure}")
                if self.client.is_connected():
                    self.publish_changes()
                watchdog.tick()
        finally:
            self.client.publish(topics.hub_status(self.hub_id), self._status("offline"), qos=1, retain=True)
            stop(self.client)
            self.db.close()
