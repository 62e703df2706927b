"""Request/response over MQTT: a question on the source's ``req`` topic, the signed answer on
its ``resp`` topic, matched by ``req_id``; no answer before the deadline is no answer."""
from __future__ import annotations

import logging
import threading
import uuid
from datetime import datetime, timedelta

from kiosk.ledger.dates import to_utc_text

from .mqtt import Broker, make_client, start, stop
from .protocol import Codec, Dropped
from .protocol.topics import SourceTopics

log = logging.getLogger("sync.requester")


def request_body(kind: str, args: dict, timeout: float, now: datetime) -> dict:
    """A question that head office answers only before ``now + timeout`` (both ends share one clock)."""
    return {"req_id": str(uuid.uuid4()), "kind": kind, "deadline": to_utc_text(now + timedelta(seconds=timeout)),
            "args": args}


class Requester:
    """Blocking questions to head office for the UI process, on its own MQTT connection: its client
    id is ``source.identity`` (``<kiosk>.ui``), the CN of the UI's own certificate."""

    def __init__(self, broker: Broker, codec: Codec, source: SourceTopics):
        self.codec, self.topics, self.broker = codec, source, broker
        self._waiting: dict[str, tuple[threading.Event, list]] = {}
        self.ready = threading.Event()          # subscribed to the answers
        self.client = make_client(broker, source.identity)
        self.client.on_connect = lambda c, u, f, rc, p: rc.is_failure or c.subscribe(source.resp, qos=1)
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.ready.set()
        self.client.on_disconnect = lambda c, u, f, rc, p: self.ready.clear()
        self.client.on_message = self._on_response

    def start(self) -> "Requester":
        start(self.client, self.broker)
        return self

    def close(self) -> None:
        stop(self.client)

    def _on_response(self, client, userdata, msg) -> None:
        try:
            body = self.codec.unpack(msg.payload, {"response"})["body"]
        except Dropped as exc:
            log.warning("dropped response on %s: %s", msg.topic, exc)
            return
        waiter = self._waiting.get(body["req_id"])
        if waiter:
            waiter[1].append(body)
            waiter[0].set()

    def ask(self, kind: str, args: dict, timeout: float) -> dict | None:
        """The response body, or None when head office did not answer within ``timeout`` seconds."""
        if not self.ready.is_set():
            return None
        body = request_body(kind, args, timeout, self.codec.clock.now())
        event, box = threading.Event(), []
        self._waiting[body["req_id"]] = (event, box)
        try:
            self.client.publish(self.topics.req, self.codec.pack("request", body), qos=1)
            return box[0] if event.wait(timeout) else None
        finally:
            del self._waiting[body["req_id"]]
