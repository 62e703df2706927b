"""Deferred earning with two hubs on one PostgreSQL database: the same kiosk batches delivered to both at
once (a resend racing the first delivery), from two kiosks of other stores, credit each deferred purchase
exactly once, the same points as one hub applying everything in turn, and head office's own chain of
records stays gapless. Skipped with the reason when PostgreSQL is unreachable (``pg_url``)."""
from __future__ import annotations

import threading

from kiosk.ledger import lines_from_amount
from sync.hq import deferred

from .test_deferred_earning import DAY, ledger, make_hub, points, send, token_hex

PURCHASES = 6


def test_two_hubs_credit_each_deferred_purchase_once(tmp_path, pg_url):
    home = ledger(tmp_path, "k1", "s1")
    ids = [home.register(name=n, phone=f"1380000000{i}", card_id=n, operator="admin",
                         at="2026-11-01T09:00")["member_id"] for i, n in enumerate("AB")]
    away = [ledger(tmp_path, k, s) for k, s in (("k2", "s2"), ("k3", "s3"))]
    made = []
    for kiosk in away:
        for i in range(PURCHASES):
            card, member = "AB"[i % 2], ids[i % 2]
            made.append(kiosk.purchase_deferred(card, member, token_hex(card, member),
                                                lines_from_amount(1_000 + 100 * i), operator="admin", at=DAY)["tx_id"])
    serial = make_hub(f"sqlite:///{tmp_path / 'serial.db'}")
    hubs = [make_hub(pg_url) for _ in range(4)]         # two hubs' batch workers for each of two kiosks
    for ingest in (serial, hubs[0]):
        send(ingest, home, home.journal())
    for kiosk in away:
        send(serial, kiosk, kiosk.journal(), kiosk.kiosk_id, kiosk.store_id)

    start, failures = threading.Barrier(4), []

    def deliver(ingest, kiosk):
        start.wait()
        try:
            for _ in range(2):
                out = send(ingest, kiosk, kiosk.journal(), kiosk.kiosk_id, kiosk.store_id)
                assert out.corrections == [] and out.alerts == []
        except BaseException as exc:     # noqa: BLE001 - reported by the main thread
            failures.append(exc)
    threads = [threading.Thread(target=deliver, args=(h, away[i % 2])) for i, h in enumerate(hubs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []

    conn = hubs[0].conn
    credits = conn.execute("SELECT tx_id, ref_tx FROM journal WHERE kiosk_id = 'hq' ORDER BY seq").fetchall()
    assert sorted(credits) == sorted((deferred.credit_tx_id(t), t) for t in made)
    assert conn.execute("SELECT hwm FROM hq_sources WHERE source_id = 'hq'").fetchone()[0] == len(made)
    assert [points(hubs[0], m) for m in ids] == [points(serial, m) for m in ids] and points(serial, ids[0]) > 0
    for closing in [home, *away]:
        closing.close()
    for ingest in [serial, *hubs]:
        ingest.db.close()
