"""The hub process: MQTT in, authoritative ledger, confirmations and answers out.

Hubs subscribe through an MQTT 5 shared subscription (``$share/<group>/...``) so several
processes split the sources' traffic. paho's network thread only queues each message; a worker
thread handles the kiosks' batches in arrival order (database commit, then the signed reply) and
another answers online requests (so an authorization never waits behind a backlog of batches);
each message is acknowledged to the broker (manual PUBACK) only once handled, so replies and
PUBACKs leave while the next batch is being applied, and a hub that dies holding a message gets
it again from the broker.
The broker sends at most ``RECEIVE_MAXIMUM`` unacknowledged messages, which bounds the queue.
Anything a hub dies holding is also resent by its kiosk, which keeps every unconfirmed
transaction until a confirmation arrives.

With the shipped broker configuration the sources connect to a listener with a mount point
(``--mount sources/``): everything they publish or subscribe to lives under that prefix, so a
source's ``$share/hq/...`` is an ordinary topic there and can never join the hubs' group. The hubs
connect to head office's own listener and add the prefix themselves.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import Counter

from ..mqtt import Broker, make_client, start, stop
from kiosk.ledger.clock import Clock, from_env

from ..protocol import Codec, Dropped, Signer, topics
from ..protocol.envelope import parse
from kiosk.sdnotify import Watchdog
from .authority import Authority
from . import feedlog, resends
from .db import Db
from .feedheads import FeedHeads
from .ingest import Ingest
from .metrics import HubMetrics
from .policy import Policy
from .retained import Retained
from .sources import Refused, Sources

log = logging.getLogger("sync.hq")
MAX_RECORD_BYTES = 64 * 1024      # a purchase of a hundred lines is ~20 kB; more is not a kiosk's record
RECEIVE_MAXIMUM = 100             # unacknowledged messages the broker may hand this hub at once
PROBE_TIMEOUT = 10.0              # seconds for the hub's own probe to come back through its shared subscription
_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode     # one encoder, not one a record


class Hub:
    def __init__(self, db_url: str, broker: Broker, signer: Signer, *, hub_id: str = "hq-1", group: str = "hq",
                 mount: str = "", hold_on_overdraft: bool = False, clock: Clock | None = None,
                 timezone: str = "Asia/Shanghai", probe_timeout: float = PROBE_TIMEOUT, key_file: str | None = None,
                 policy: Policy | None = None, accept_legacy: bool = True,
                 metrics_port: int | None = None, metrics_address: str = "127.0.0.1", token_key=None):
        clock = clock or from_env()
        self.db = Db(db_url, key_file)
        self.db.keyring         # a missing, open or wrong key file stops the hub at start, not at a batch
        # Feed rows get their positions in publish_changes (every poll, before the heads that tell kiosks about
        # them), not after each commit: 7 of a one-record batch's 30 statements went to numbering one row.
        self.db.sequence_on_commit = False
        self.ingest = Ingest(self.db, hold_on_overdraft=hold_on_overdraft, clock=clock, timezone=timezone,
                             policy=policy, accept_legacy=accept_legacy, token_key=token_key)
        self.answer_db = Db(db_url, key_file)        # requests are answered on their own connection, beside ingest
        self.authority = Authority(self.answer_db, clock, timezone)
        self.retained = Retained(self.db, clock)
        self.sources = Sources(self.db, clock)                  # batches: under self.lock
        self.answer_sources = Sources(self.answer_db, clock)    # requests: the answering worker's own
        self.codec = Codec(hub_id, "hq", signer=signer, clock=clock)
        self.failure: BaseException | None = None
        self.stats: Counter = Counter()     # batches, records (received, applied, duplicates), requests answered
        self.hub_id, self.group, self.broker, self.mount = hub_id, group, broker, topics.check_mount(mount)
        self.published: dict[str, int] = {}
        self.heads = FeedHeads(self.db)
        self.metrics = HubMetrics(db_url)
        self.metrics_at = (metrics_port, metrics_address) if metrics_port else None
        self.lock = threading.RLock()      # one user of self.db at a time
        # Both queues are bounded by RECEIVE_MAXIMUM: nothing is acknowledged before it is handled.
        self.batches: queue.Queue = queue.Queue()
        self.requests: queue.Queue = queue.Queue()
        self.client = make_client(broker, hub_id, will=(topics.hub_status(hub_id), self._status("offline")))
        self.client.manual_ack_set(True)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.probe_topic = topics.shared(group, topics.hub_probe(hub_id))
        self.probe_timeout, self.probe_sent, self.probed = probe_timeout, None, threading.Event()
        self.client.on_message = self._on_message
        self.client.on_publish = self._on_publish
        self.client.on_disconnect = lambda c, u, f, rc, p: log.warning("disconnected from %s: %s", broker.url, rc)

    def _status(self, state: str) -> bytes:
        return self.codec.pack("status", {"state": state})

    # -- MQTT ----------------------------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            log.error("broker %s refused the hub: %s", self.broker.url, reason)
            return
        log.info("connected to %s as %s (session present: %s)", self.broker.url, self.hub_id, flags.session_present)
        client.subscribe([(topics.shared(self.group, self.mount + topic), 1)
                          for topic in (topics.ALL_TX, topics.ALL_REQ)] + [(self.probe_topic, 1)]
                         + [(self.mount + topics.ALL_STATUS, 1)])
        client.publish(topics.hub_status(self.hub_id), self._status("online"), qos=1, retain=True)
        # Republish retained data (the broker may have lost it) from run() within a poll: reading the
        # database here would hold paho's network thread behind a batch that has the lock.
        self.published = {}
        self.heads.restart()

    def _on_publish(self, client, userdata, mid, reason, properties) -> None:
        if reason.is_failure:        # e.g. 0x87: this hub id has no user block in the ACL, or --mount is wrong
            log.error("the broker refused a publish by %s: %s (check broker/acl and --mount)", self.hub_id, reason)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        """Subscribed: send a probe through the shared subscription. A broker that grants ``$share``
        and delivers nothing (no support, or an ACL) would otherwise look healthy and ingest nothing."""
        if any(code.is_failure for code in reason_codes):
            log.error("broker %s refused the hub's subscriptions: %s", self.broker.url, reason_codes)
        self.probe_sent = time.monotonic()
        client.publish(topics.hub_probe(self.hub_id), b"probe", qos=1)

    def _on_message(self, client, userdata, msg) -> None:
        if msg.topic == topics.hub_probe(self.hub_id):
            self._delivering()
            client.ack(msg.mid, msg.qos)
            return
        if msg.topic.endswith(("/tx", "/req")):
            # only subscribed through $share: the subscription delivers. A hub restarted behind a backlog
            # its session kept gets the probe after that backlog, too late for the probe's deadline.
            self._delivering()
        (self.batches if msg.topic.endswith("/tx") else self.requests).put((msg, time.monotonic()))

    def _delivering(self) -> None:
        self.probed.set()
        self.metrics.delivering.set(1)

    def probe_failed(self) -> bool:
        """True once the probe has had its time and did not come back."""
        return (not self.probed.is_set() and self.probe_sent is not None
                and time.monotonic() - self.probe_sent > self.probe_timeout)

    def _work(self, inbox: queue.Queue, stop_event: threading.Event) -> None:
        """Handle queued messages in arrival order, each acknowledged to the broker once handled."""
        while not stop_event.is_set():
            try:
                msg, arrived = inbox.get(timeout=0.2)
            except queue.Empty:
                continue
            self._handle(msg)
            if self.failure is None:        # after a database failure: not acknowledged, so redelivered
                self.client.ack(msg.mid, msg.qos)
                self.metrics.ack_delay.observe(time.monotonic() - arrived)

    def _handle(self, msg) -> None:
        try:
            store, identity, leaf = topics.parse_source(msg.topic.removeprefix(self.mount))
            if leaf == "tx":
                with self.lock:
                    self._batch(store, identity, msg.payload)
            elif leaf == "req":
                self._request(store, identity, msg.payload)
            elif leaf == "status" and msg.payload:          # an empty retained message clears a status
                self.metrics.kiosk_status(identity, self.codec.unpack(msg.payload, {"status"})["body"])
        except Refused as exc:          # not an enrolled source: nothing applied, operations told
            self._refused(identity, leaf, str(exc), msg.topic)
        except ValueError as exc:       # Dropped included: bad input changes nothing
            log.warning("dropped message on %s: %s", msg.topic, exc)
        except self.db.fatal as exc:    # the database is gone: stop, let systemd restart us
            log.error("database failure on %s: %s", msg.topic, exc)
            self.failure = exc
        except Exception:
            log.exception("could not handle message on %s", msg.topic)

    def _refused(self, identity: str, leaf: str, reason: str, topic: str) -> None:
        if leaf == "tx":
            with self.lock:
                alert = self.sources.refusal_alert(identity, reason, topic)
        else:
            alert = self.answer_sources.refusal_alert(identity, reason, topic)
        if alert:
            self.metrics.alert(alert["kind"])
            self.client.publish(topics.ALERTS, self.codec.pack("alert", alert), qos=1)

    def _batch(self, store: str, source: str, payload: bytes) -> None:
        started = time.monotonic()
        document = parse(payload)       # once, for the resend check and the validation
        if self._resent(store, source, document, started):
            return
        env = self.codec.validated(document, {"tx.batch"})
        self.sources.admit(store, source, env["channel"], records=True)
        body = env["body"]
        strangers = {(r["store_id"], r["kiosk_id"]) for r in body["records"]} - {(store, source)}
        if (body["store_id"], body["source_id"]) != (store, source) or strangers:
            raise Dropped(f"records claim another source than the topic's {store}/{source}")
        for record in body["records"]:
            size = len(_compact(record).encode())
            if size > MAX_RECORD_BYTES:
                raise Dropped(f"record seq {record['seq']} of {source} is {size} bytes (at most {MAX_RECORD_BYTES})")
        out = self.ingest.batch(store, source, env["channel"], body["records"], body.get("keys"))
        self.stats.update(batches=1, records=len(body["records"]), applied=out.applied, duplicates=out.duplicates)
        st = topics.SourceTopics(store, source)
        self._to_sources(st.ack, self.codec.pack("ack", {
            "source_id": source, "hwm": out.hwm, "held": out.held, "corrections": out.corrections,
            "balances": out.balances}))
        # Feed heads go out from run() at most once a second, not per batch, and only for the stores whose
        # feed moved (feedheads.py): a head per batch during a thousand kiosks' reconnect filled each kiosk's
        # broker queue until Mosquitto dropped the kiosk's acks behind it (bench-hq-ingest's storm).
        for alert in out.alerts:
            self.metrics.alert(alert["kind"])
            self.client.publish(topics.ALERTS, self.codec.pack("alert", alert), qos=1)
        self.metrics.batch(len(body["records"]), out.applied, out.duplicates, time.monotonic() - started,
                           again=out.again)
        if out.held_cards:          # the new block list version was committed with the batch
            self.publish_changes()

    def _resent(self, store: str, source: str, document, started: float) -> bool:
        """A batch head office already holds as sent (:mod:`.resends`): acknowledged without applying it."""
        resend = resends.pure_resend(document, store, source)
        if resend is None:
            return False
        channel, records = resend
        self.sources.admit(store, source, channel, records=True)
        ack = resends.answer(self.db.conn, source, records)
        if ack is None:
            return False
        self._to_sources(topics.SourceTopics(store, source).ack, self.codec.pack("ack", ack))
        self.stats.update(batches=1, skipped=1, records=len(records), duplicates=len(records))
        self.metrics.batch(len(records), 0, len(records), time.monotonic() - started, skipped=True)
        return True

    def _request(self, store: str, identity: str, payload: bytes) -> None:
        env = self.codec.unpack(payload, {"request"})
        body = env["body"]
        if self.codec.now() > body["deadline"]:
            log.info("late request %s %s from %s: not answered", body["kind"], body["req_id"], identity)
            return
        try:
            source = self.answer_sources.admit(store, identity, env["channel"], records=False)
        except Refused:
            if body["kind"] == "authorize":    # a plain no, so the kiosk does not fall back to offline limits
                self._respond(store, identity, body, "source_refused", {"approved": False})
            raise
        self.stats.update(requests=1)
        args = {**body["args"], "store_id": store, "source_id": source, "deadline": body["deadline"]}
        reason, result = self.authority.answer(body["kind"], args)
        if body["kind"] == "feed.fetch":
            self.metrics.feed_served.inc(len(result.get("records", ())))
        log.info("request %s %s from %s: %s", body["kind"], body["req_id"], identity, reason or "ok")
        self._respond(store, identity, body, reason, result)

    def _respond(self, store: str, identity: str, body: dict, reason: str, result: dict) -> None:
        source, role = topics.split_identity(identity)
        self._to_sources(topics.SourceTopics(store, source, role).resp, self.codec.pack("response", {
            "req_id": body["req_id"], "kind": body["kind"], "reason": reason, "result": result}))

    def _to_sources(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        self.client.publish(self.mount + topic, payload, qos=1, retain=retain)

    def publish_changes(self) -> None:
        """Publish (retained, signed) every piece of head-office data newer than last published."""
        with self.lock:
            versions = self.retained.versions()
            for name, version in sorted(versions.items()):
                if self.published.get(name) == version:
                    continue
                topic, type_, body = self.retained.message(name)
                self._to_sources(topic, self.codec.pack(type_, body), retain=True)
                self.published[name] = version
                log.info("published %s version %d", name, version)
            feedlog.sequence(self.db)       # positions for rows another hub's commit left waiting
            if not self.heads.claim():
                return
            moved, chain_wide = self.heads.due()
            for store, head in sorted(moved.items()):
                try:
                    topic = topics.feed_head(store)
                except ValueError as exc:   # never a reason to stop the hub (feedscope.index keeps them out)
                    log.error("feed head not published: %s", exc)
                    continue
                self._to_sources(topic, self.codec.pack("feed.head", {"head": head}), retain=True)
            if chain_wide is not None:      # kiosks of earlier releases
                self._to_sources(topics.FEED, self.codec.pack("feed.head", {"head": chain_wide}), retain=True)

    def lost_broker(self) -> None:
        """Not connected: another hub publishes the feed heads meanwhile."""
        with self.lock:
            self.heads.release()

    # -- lifecycle -----------------------------------------------------------------------------
    def run(self, stop_event: threading.Event, poll: float = 1.0) -> None:
        watchdog = Watchdog()
        workers = [threading.Thread(target=self._work, args=(inbox, stop_event), name=f"{self.hub_id}-{name}",
                                    daemon=True) for name, inbox in (("ingest", self.batches), ("answer", self.requests))]
        for worker in workers:
            worker.start()
        if self.metrics_at:
            self.metrics.serve(*self.metrics_at)
        start(self.client, self.broker, receive_maximum=RECEIVE_MAXIMUM)
        watchdog.ready(f"hub {self.hub_id} on {self.db.dialect}")
        try:
            while not stop_event.wait(poll):
                if self.failure is not None:
                    raise RuntimeError(f"hub stopped after a database failure: {self.failure}")
                if self.probe_failed():
                    log.critical("broker %s granted the shared subscription %s but delivered nothing in %.0f s:"
                                 " it does not support shared subscriptions or its ACL forbids them; not running",
                                 self.broker.url, self.probe_topic, self.probe_timeout)
                    raise RuntimeError(f"the broker does not deliver through {self.probe_topic}")
                if self.client.is_connected():
                    self.publish_changes()
                else:
                    self.lost_broker()
                watchdog.tick()
        finally:
            self.client.publish(topics.hub_status(self.hub_id), self._status("offline"), qos=1, retain=True)
            stop(self.client)
            stop_event.set()
            for worker in workers:
                worker.join()
            self.metrics.close()
            self.db.close()
            self.answer_db.close()
