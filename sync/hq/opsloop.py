"""``kiosk-hq ops``: the operations process next to the hubs.

Every few seconds it scans newly applied transactions with the monitoring rules, publishes new
monitoring alerts on ``kiosk/v1/ops/alerts``, once per local day queues the day's reminders and
makes the dated benefit runs (tier birthday coupons, top-up bonus instalments due), sends
due notifications to the gateway on ``kiosk/v1/ops/notify`` and records the gateway's answers
from ``kiosk/v1/ops/notify/ack``. Answers are only queued on paho's network thread; all database
work happens in :meth:`OpsLoop.tick`, which takes the moment explicitly (tests pin it).
"""
from __future__ import annotations

import json
import logging
import queue
import threading
from datetime import datetime

from kiosk.ledger.clock import SYSTEM, Clock
from kiosk.sdnotify import Watchdog

from ..mqtt import Broker, make_client, start, stop
from ..protocol import Codec, Dropped, Signer, topics
from .db import Db
from .ingest import Ingest
from .monitor import Monitor, MonitorRules
from .notify import Sealer, claim, confirm, message
from .opsdb import state_get, state_set
from .reminders import DEFAULT_HORIZONS, remind
from .runs import birthday_run, instalment_run

log = logging.getLogger("sync.hq.ops")


class OpsLoop:
    def __init__(self, db_url: str, broker: Broker, signer: Signer, sealer: Sealer, *,
                 rules: MonitorRules = MonitorRules(), horizons: tuple[int, ...] = DEFAULT_HORIZONS,
                 client_id: str = "hq-ops"):
        self.db = Db(db_url)
        self.monitor = Monitor(self.db, rules)
        self.sealer, self.horizons, self.tz, self.client_id = sealer, horizons, rules.tz, client_id
        self.codec = Codec(client_id, "hq", signer=signer)
        self.answers: queue.Queue[bytes] = queue.Queue()
        self.broker = broker
        self.client = make_client(broker, client_id)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, msg: self.answers.put(msg.payload)

    def _on_connect(self, client, userdata, flags, reason, properties) -> None:
        if reason.is_failure:
            log.error("broker %s refused the operations process: %s", self.broker.url, reason)
            return
        client.subscribe([(topics.NOTIFY_ACK, 1)])

    def tick(self, now: datetime) -> dict:
        """One round of work at ``now``; returns what it did."""
        done = {"answers": self._answers(now), "alerts": 0, "reminders": None, "runs": None, "sent": 0}
        self.monitor.scan(now)
        done["alerts"] = self._publish_alerts()
        day = now.astimezone(self.monitor.zone).date().isoformat()
        if state_get(self.db.conn, "reminders.day") != day:
            done["reminders"] = remind(self.db, now, horizons=self.horizons, tz=self.tz)["queued"]
            done["runs"] = self._dated_runs(now)
            with self.db.transaction(["state:reminders.day"]):
                state_set(self.db.conn, "reminders.day", day)
        done["sent"] = self._send(now)
        return done

    def _dated_runs(self, now: datetime) -> dict | None:
        """The day's birthday coupons and due instalments (each given once, however often this runs)."""
        ingest = Ingest(self.db, timezone=self.tz)
        try:
            return {"birthday_coupons": len(birthday_run(ingest, at=now.isoformat(), store_id="hq")),
                    "instalments": len(instalment_run(ingest, at=now.isoformat(), store_id="hq"))}
        except ValueError as exc:             # no rules published yet
            log.warning("dated benefit runs skipped: %s", exc)
            return None

    def _answers(self, now: datetime) -> int:
        count = 0
        while True:
            try:
                payload = self.answers.get_nowait()
            except queue.Empty:
                return count
            try:
                body = self.codec.unpack(payload, {"notify.ack"})["body"]
            except Dropped as exc:
                log.warning("dropped gateway answer: %s", exc)
                continue
            with self.db.transaction(["notify"]):
                known = confirm(self.db.conn, body["notification_id"], body["status"], now, body.get("error", ""))
            log.info("notification %s: %s%s", body["notification_id"], body["status"], "" if known else " (ignored)")
            count += known

    def _publish_alerts(self) -> int:
        after = int(state_get(self.db.conn, "alerts.published", "0"))
        rows = self.db.conn.execute(
            "SELECT alert_id, source_id, tx_id, member_id, detail FROM hq_alerts WHERE kind = 'monitor'"
            " AND alert_id > ? ORDER BY alert_id", (after,)).fetchall()
        for alert_id, source_id, tx_id, member_id, detail in rows:
            body = {"kind": "monitor", "source_id": source_id, "member_id": member_id or "",
                    "detail": {"alert_id": alert_id, **json.loads(detail)}}
            if tx_id:
                body["tx_id"] = tx_id
            self.client.publish(topics.ALERTS, self.codec.pack("alert", body), qos=1)
        if rows:
            with self.db.transaction(["state:alerts.published"]):
                state_set(self.db.conn, "alerts.published", str(rows[-1][0]))
        return len(rows)

    def _send(self, now: datetime) -> int:
        """Claim the due attempts in one committed transaction, then publish them (never the reverse:
        a process killed after publishing would otherwise publish the same attempt again)."""
        with self.db.transaction(["notify"]):
            claimed = claim(self.db.conn, now, self.client_id)
            bodies = [self.codec.pack("notify", message(self.db, item, self.sealer)) for item in claimed]
        for body in bodies:
            self.client.publish(topics.NOTIFY, body, qos=1)
        return len(bodies)

    def run(self, stop_event: threading.Event, clock: Clock = SYSTEM, interval: float = 5.0) -> None:
        watchdog = Watchdog()
        start(self.client, self.broker)
        watchdog.ready(f"operations on {self.db.dialect}")
        try:
            while not stop_event.is_set():
                try:
                    self.tick(clock.now())
                except self.db.fatal:
                    raise
                except Exception:         # one bad round must not stop reminders for everyone
                    log.exception("operations round failed")
                watchdog.tick()
                stop_event.wait(interval)
        finally:
            stop(self.client)
            self.db.close()
