"""Prometheus metrics of one hub (``kiosk-hq run --metrics-port``), scraped by a chain's operations team.

Per hub (each hub process serves its own endpoint; Prometheus's ``instance`` label tells them apart):
records received, applied and duplicate, feed records served, batch latency, ack delay (from the message's arrival at the
hub to its acknowledgement), alerts by kind, chain breaks. From head office's database, read at each
scrape on a connection of the scrape's own: parked records, and per kiosk its confirmed sequence number
and last confirmation. From the kiosks' retained status messages (which every hub hears): kiosks online,
and each kiosk's backlog as it last reported it less what head office confirmed since. No kiosk opens
a port: everything is exported through head office.
"""
from __future__ import annotations

import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily

from kiosk.ledger.dates import from_utc_text

from .db import Db

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class HubMetrics:
    def __init__(self, db_url: str):
        self.db_url = db_url
        self.registry = CollectorRegistry()
        self.records = Counter("kiosk_hq_records", "records received in batches (duplicates included)",
                               registry=self.registry)
        self.applied = Counter("kiosk_hq_records_applied", "records applied to the authoritative ledger",
                               registry=self.registry)
        self.duplicates = Counter("kiosk_hq_duplicates", "records received again (a resend) and ignored",
                                  registry=self.registry)
        self.skipped = Counter("kiosk_hq_records_skipped", "records of batches head office already held as sent,"
                               " acknowledged without applying them (resends.py)", registry=self.registry)
        self.again = Counter("kiosk_hq_batches_again", "batches run again a record at a time: a record refused or"
                             " rolled back, or a row PostgreSQL refused at the end", registry=self.registry)
        self.batch_seconds = Histogram("kiosk_hq_batch_seconds", "time to apply and answer one batch",
                                       buckets=LATENCY_BUCKETS, registry=self.registry)
        self.ack_delay = Histogram("kiosk_hq_ack_delay_seconds", "message arrival at the hub to its acknowledgement",
                                   buckets=LATENCY_BUCKETS, registry=self.registry)
        self.feed_served = Counter("kiosk_hq_feed_records_served", "records sent to kiosks in feed pages",
                                   registry=self.registry)
        self.alerts = Counter("kiosk_hq_alerts", "alerts raised by this hub", ["kind"], registry=self.registry)
        self.chain_breaks = Counter("kiosk_hq_chain_breaks", "records that broke their source's hash chain",
                                    registry=self.registry)
        self.delivering = Gauge("kiosk_hq_shared_subscription_delivering",
                                "1 once the hub's probe came back through its shared subscription",
                                registry=self.registry)
        self.status: dict[str, dict] = {}       # source id -> its last retained status body
        self.status_lock = threading.Lock()
        self.registry.register(_FromDatabase(self))
        self.server = None

    def batch(self, records: int, applied: int, duplicates: int, seconds: float, skipped: bool = False,
              again: bool = False) -> None:
        self.skipped.inc(records if skipped else 0)
        self.again.inc(int(again))
        self.records.inc(records)
        self.applied.inc(applied)
        self.duplicates.inc(duplicates)
        self.batch_seconds.observe(seconds)

    def alert(self, kind: str) -> None:
        self.alerts.labels(kind).inc()
        if kind == "chain_break":
            self.chain_breaks.inc()

    def kiosk_status(self, source_id: str, body: dict) -> None:
        with self.status_lock:
            self.status[source_id] = body

    def serve(self, port: int, address: str = "127.0.0.1") -> None:
        self.server, _thread = start_http_server(port, address, registry=self.registry)

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


class _FromDatabase:
    """Gauges read at scrape time, so an unscraped hub does no extra work."""

    def __init__(self, metrics: HubMetrics):
        self.metrics = metrics

    def collect(self):
        db = Db(self.metrics.db_url)
        try:
            (parked,) = db.conn.execute("SELECT COUNT(*) FROM hq_parked").fetchone()
            sources = db.conn.execute("SELECT source_id, hwm, last_seen FROM hq_sources").fetchall()
            enrolled = {row[0] for row in db.conn.execute("SELECT source_id FROM hq_enrolled WHERE retired_at IS NULL")}
        finally:
            db.close()
        with self.metrics.status_lock:     # a status from a source head office does not know counts for nothing
            status = {source: body for source, body in self.metrics.status.items() if source in enrolled}
        yield GaugeMetricFamily("kiosk_hq_kiosks_online", "enrolled sources whose retained status says online",
                                value=sum(1 for body in status.values() if body["state"] == "online"))
        yield GaugeMetricFamily("kiosk_hq_parked_records", "records waiting for a gap to be filled", value=parked)
        confirmed = GaugeMetricFamily("kiosk_hq_kiosk_confirmed_seq", "highest contiguous sequence number confirmed",
                                      labels=["source"])
        last = GaugeMetricFamily("kiosk_hq_kiosk_last_confirmation_timestamp_seconds",
                                 "when head office last took a batch from the source", labels=["source"])
        backlog = GaugeMetricFamily("kiosk_hq_kiosk_backlog", "unconfirmed transactions the source reported at its"
                                    " last connect, less those confirmed since", labels=["source"])
        for source_id, hwm, last_seen in sources:
            confirmed.add_metric([source_id], hwm)
            last.add_metric([source_id], from_utc_text(last_seen).timestamp())
            body = status.get(source_id)
            if body and "backlog" in body:
                backlog.add_metric([source_id], max(0, body.get("confirmed", 0) + body["backlog"] - hwm))
        yield confirmed
        yield last
        yield backlog
