"""Head office's Prometheus metrics, scraped over HTTP from a running hub with a real Mosquitto:
ingest counts, latencies, parked records, kiosks online, each kiosk's confirmation and backlog."""
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from .conftest import confirmed_all, wait_for
from .mosquitto import free_port


def scrape(port: int) -> dict:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_a_scrape_shows_what_the_hub_ingested_and_each_kiosk(broker, start_hub, make_kiosk, start_agent):
    port = free_port()
    hub = start_hub(broker.url, metrics_port=port)
    kiosk = make_kiosk("k1")
    kiosk.register(name="Lu Su", phone="13800008888", card_id="C1", operator="admin")
    kiosk.topup("C1", 500, operator="admin")
    records = len(kiosk.journal())
    start_agent(kiosk, broker.url)
    wait_for(lambda: confirmed_all(kiosk), what="the kiosk confirmed")
    seen = wait_for(lambda: (m := scrape(port)).get(("kiosk_hq_kiosks_online", ())) == 1 and m,
                    what="the kiosk online in the metrics")
    assert seen[("kiosk_hq_records_applied_total", ())] == records
    assert seen[("kiosk_hq_duplicates_total", ())] == 0
    assert seen[("kiosk_hq_batches_again_total", ())] == 0       # honest records: each batch ran once
    assert seen[("kiosk_hq_batch_seconds_count", ())] == hub.stats["batches"] >= 1
    assert seen[("kiosk_hq_ack_delay_seconds_count", ())] >= 1
    assert seen[("kiosk_hq_parked_records", ())] == 0
    assert seen[("kiosk_hq_kiosk_confirmed_seq", (("source", "k1"),))] == records
    assert seen[("kiosk_hq_kiosk_last_confirmation_timestamp_seconds", (("source", "k1"),))] > 0
    assert seen[("kiosk_hq_kiosk_backlog", (("source", "k1"),))] == 0
