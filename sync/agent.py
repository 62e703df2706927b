"""``kiosk-sync``: the kiosk's sync agent, a separate process sharing the kiosk's SQLite file.

paho's network thread only queues what arrives; one loop thread owns the database: it applies
what head office sent, pumps the outbox, resends on silence, pings the systemd watchdog.
All state lives in the SQLite file, so a kill -9 at any instant loses nothing: on restart the
agent resends whatever head office has not confirmed, and head office ignores what it has.
"""
from __future__ import annotations

import argparse
import logging
import queue
import sys
import threading
import time

from kiosk import config
from kiosk.ledger import Ledger, LedgerError, pii
from kiosk.ledger.clock import Clock

from .cli_common import add_broker_options, broker_from, setup_logging, stop_on_signals
from .inbound import ANSWER_WITHIN, Inbound
from .local import SyncState
from .mqtt import Broker, make_client, start, stop
from .protocol import Codec, Dropped, Verifier, topics
from .requester import request_body
from kiosk.sdnotify import Watchdog
from .sender import Sender

log = logging.getLogger("sync.agent")
DOWNLINK_TYPES = {"ack", "response", "feed.head", "rules", "blocklist", "staff", "limits", "picture"}


class Agent:
    def __init__(self, db_path: str, *, kiosk_id: str, store_id: str, broker: Broker, hq_key: str,
                 channel: str = "kiosk", timezone: str = "Asia/Shanghai", batch: int = 200, window: int = 8,
                 timeout: float = 5.0, feed_poll: float = 30.0, follow_feed: bool = True, clock: Clock | None = None):
        self.ledger = Ledger(db_path, kiosk_id=kiosk_id, store_id=store_id, timezone=timezone, clock=clock)
        self.state = SyncState(self.ledger)
        self.topics = topics.SourceTopics(store_id, kiosk_id)
        self.codec = Codec(kiosk_id, channel, verifier=Verifier.load(hq_key), clock=self.ledger.clock)
        self.broker, self.feed_poll, self.last_feed_poll = broker, feed_poll, time.monotonic()
        self.inbox: queue.Queue = queue.Queue()
        self.client = make_client(broker, self.topics.identity, will=(self.topics.status, self._status("offline")))
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda c, u, f, rc, p: self.inbox.put(("disconnected", str(rc)))
        self.client.on_message = lambda c, u, msg: self.inbox.put(("message", msg))
        self.sender = Sender(self.ledger, self.state, self._publish_batch, batch=batch, window=window, timeout=timeout)
        self.inbound = Inbound(self.ledger, self.state, self.sender, self._ask, follow_feed=follow_feed)

    def _status(self, state: str, **extra) -> bytes:
        return self.codec.pack("status", {"state": state, **extra})

    def _publish_batch(self, records: list[dict]) -> None:
        body = {"store_id": self.topics.store, "source_id": self.topics.source, "records": records}
        keys = pii.keys_for(self.ledger.conn, records)
        if keys:
            body["keys"] = keys        # beside the records, outside their hash chain: erasure destroys them
        self.client.publish(self.topics.tx, self.codec.pack("tx.batch", body), qos=1)

    def _ask(self, kind: str, args: dict) -> None:
        body = request_body(kind, args, ANSWER_WITHIN, self.ledger.clock.now())
        self.client.publish(self.topics.req, self.codec.pack("request", body), qos=1)

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            log.error("broker %s refused kiosk %s: %s", self.broker.url, self.topics.source, reason)
            return
        client.subscribe([(t, 1) for t in self.topics.downlinks()])
        self.inbox.put(("connected", flags.session_present))

    # -- the loop ------------------------------------------------------------------------------
    def _event(self, kind: str, item) -> None:
        if kind == "connected":
            log.info("connected to %s (session present: %s); resending from seq %d", self.broker.url, item,
                     self.state.confirmed() + 1)
            self.sender.reset()
            self.inbound.fetch(force=True)
            backlog = self.ledger.outbox_backlog()
            self.client.publish(self.topics.status, self._status("online", backlog=backlog,
                                                                 confirmed=self.state.confirmed()), qos=1, retain=True)
        elif kind == "disconnected":
            log.warning("disconnected from %s: %s", self.broker.url, item)
        else:
            self._message(item)

    def _message(self, msg) -> None:
        try:
            env = self.codec.unpack(msg.payload, DOWNLINK_TYPES)
        except Dropped as exc:
            log.warning("dropped message on %s: %s", msg.topic, exc)
            return
        mine = topics.unmounted(msg.topic) in (self.topics.ack, self.topics.resp)
        if not mine and env["type"] in ("ack", "response"):
            log.warning("dropped %s on %s: not this kiosk's topic", env["type"], msg.topic)
            return
        if env["type"] == "ack" and env["body"]["source_id"] != self.topics.source:
            log.warning("dropped ack for %s: not this kiosk", env["body"]["source_id"])
            return
        try:
            self.inbound.handle(env)
        except Exception:   # a bug or a busy database must not stop the agent; the message comes again
            log.exception("could not apply %s from %s", env["type"], msg.topic)

    def step(self, idle: float = 0.0) -> None:
        """One turn of the loop: take in what arrived (waiting up to ``idle`` for it), then resend what
        waited too long and pump the outbox. ``run`` repeats it; the load tool turns many agents' steps."""
        try:
            self._event(*(self.inbox.get(timeout=idle) if idle else self.inbox.get_nowait()))
            while True:
                self._event(*self.inbox.get_nowait())
        except queue.Empty:
            pass
        if self.client.is_connected():
            self.sender.check()
            self.sender.pump()
            if time.monotonic() - self.last_feed_poll > self.feed_poll:
                self.inbound.fetch(force=True)
                self.last_feed_poll = time.monotonic()

    def run(self, stop_event: threading.Event, idle: float = 0.05) -> None:
        watchdog = Watchdog()
        start(self.client, self.broker)
        watchdog.ready(f"kiosk {self.topics.source} syncing to {self.broker.url}")
        try:
            while not stop_event.is_set():
                self.step(idle)
                watchdog.tick()
        finally:
            self.client.publish(self.topics.status, self._status("offline"), qos=1, retain=True)
            stop(self.client)
            self.ledger.close()


def _fill_from_config(args: argparse.Namespace) -> None:
    """Options not given on the command line come from the layered kiosk configuration."""
    cfg = config.load(args.config)
    for attr, section, key in (("db", "kiosk", "db"), ("kiosk_id", "kiosk", "id"), ("store_id", "kiosk", "store_id"),
                               ("timezone", "kiosk", "timezone"), ("broker", "sync", "broker"), ("ca", "sync", "ca"),
                               ("cert", "sync", "cert"), ("key", "sync", "key"), ("password", "sync", "password"),
                               ("hq_key", "sync", "hq_public_key")):
        if getattr(args, attr) is None:
            setattr(args, attr, cfg.get(section, key) or None)
    if not args.hq_key:
        raise ValueError("head office's public key is needed: --hq-key FILE or [sync] hq_public_key")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="kiosk-sync", description=__doc__.splitlines()[0],
                                epilog="Unset options come from the kiosk configuration (/etc/kiosk/kiosk.toml, --config).")
    p.add_argument("--config", help="configuration TOML layered over /etc/kiosk/kiosk.toml")
    p.add_argument("--db", help="the kiosk's ledger file ([kiosk] db)")
    p.add_argument("--kiosk-id", help="[kiosk] id")
    p.add_argument("--store-id", help="[kiosk] store_id")
    p.add_argument("--channel", default="kiosk", choices=["kiosk", "web", "pos"])
    p.add_argument("--hq-key", help="head office's public signing key, PEM ([sync] hq_public_key)")
    p.add_argument("--timezone", help="[kiosk] timezone")
    p.add_argument("--batch", type=int, default=200)
    p.add_argument("--window", type=int, default=8)
    p.add_argument("--timeout", type=float, default=5.0, help="seconds without a confirmation before resending")
    add_broker_options(p, required=False)
    args = p.parse_args(argv)
    try:
        _fill_from_config(args)
        broker = broker_from(args)
    except (config.ConfigError, ValueError) as exc:
        print(f"kiosk-sync: {exc}", file=sys.stderr)
        return 2
    setup_logging(args.log_level)
    try:
        agent = Agent(args.db, kiosk_id=args.kiosk_id, store_id=args.store_id, broker=broker,
                      hq_key=args.hq_key, channel=args.channel, timezone=args.timezone, batch=args.batch,
                      window=args.window, timeout=args.timeout)
    except LedgerError as exc:     # not a ledger, or another kiosk's
        print(f"kiosk-sync: {exc}", file=sys.stderr)
        return 2
    agent.run(stop_on_signals())
    return 0


if __name__ == "__main__":
    sys.exit(main())
