"""A forged record over a real broker and hub: a kiosk whose software was tampered with sends a
top-up of 1.00 claiming 1,000,000.00; head office rejects it, the kiosk shows the correction,
operations get the alert, and the member's balance at head office is what the inputs explain."""
from __future__ import annotations

import json

from kiosk.ui.staff_presenter import present_correction
from sync.hq.db import Db
from sync.local import SyncState
from sync.protocol import topics
from kiosk.ledger.journal import seal

from .conftest import confirmed_all, wait_for
from .test_poison import hub_listening, raw_client

MILLION_YUAN = 100_000_000


def tamper_last_record(kiosk) -> dict:
    """What compromised kiosk software does: rewrite its newest record's effects and seal it again."""
    (text,) = kiosk.conn.execute(
        "SELECT record FROM journal WHERE kiosk_id = 'k1' ORDER BY seq DESC LIMIT 1").fetchone()
    record = json.loads(text)
    for effect in record["effects"]:
        if effect["op"] in ("sv", "topup"):
            effect["principal"] = MILLION_YUAN
    seal(record, record["prev"])
    kiosk.conn.execute("UPDATE journal SET record = ?, hash = ? WHERE tx_id = ?",
                       (json.dumps(record, separators=(",", ":"), ensure_ascii=False), record["hash"], record["tx_id"]))
    return record


def test_a_forged_topup_is_rejected_corrected_at_the_kiosk_and_alerted(tmp_path, broker, start_hub, make_kiosk,
                                                                        start_agent):
    kiosk = make_kiosk("k1")
    member = kiosk.register(name="Kong Li", phone="13800005555", card_id="C1", operator="admin")["member_id"]
    kiosk.topup("C1", 100, operator="admin")
    forged = tamper_last_record(kiosk)
    kiosk.topup("C1", 200, operator="admin")          # the kiosk's next honest record

    ops = raw_client(broker, "operations")
    alerts = []
    ops.on_message = lambda c, u, msg: alerts.append(json.loads(msg.payload)["body"])
    ops.subscribe(topics.ALERTS, qos=1)         # before hub_listening: its answer proves this SUBSCRIBE done
    start_hub(broker.url)
    hub_listening(ops)
    ops.on_message = lambda c, u, msg: msg.topic == topics.ALERTS and alerts.append(json.loads(msg.payload)["body"])
    start_agent(kiosk, broker.url)
    wait_for(lambda: confirmed_all(kiosk), what="the kiosk's records confirmed (the forged one rejected)")

    [correction] = SyncState(kiosk).corrections()             # what the staff screen lists
    assert (correction["tx_id"], correction["kind"]) == (forged["tx_id"], "rejected")
    assert "the effects differ from what the inputs give" in correction["detail"]["reason"]
    assert present_correction(correction, lambda text: text).startswith(
        f"#{forged['seq']} rejected by head office: the effects differ from what the inputs give: principal")
    wait_for(lambda: any(a["kind"] == "rejected" and a["tx_id"] == forged["tx_id"] for a in alerts),
             what="the rejection alerted")
    ops.loop_stop()
    ops.disconnect()
    hq = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    assert hq.conn.execute("SELECT principal_fen FROM members WHERE member_id = ?", (member,)).fetchone() == (200,)
    assert hq.conn.execute("SELECT COUNT(*) FROM hq_rejected").fetchone() == (1,)
    hq.close()
