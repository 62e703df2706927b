"""Two kiosks, one hub, a real broker: transactions reach head office once, both kiosks end
up with head office's balances, a lost-card block reaches a kiosk, forged orders are refused."""
from __future__ import annotations

import json
import logging

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.ledger import Refused, lines_from_amount, verify
from sync.hq.db import Db
from sync.hq.retained import Retained
from sync.local import SyncState
from sync.protocol import Codec, Signer, generate, topics

from .conftest import confirmed_all, wait_for


def hq_balance(db_path, member_id):
    db = Db(f"sqlite:///{db_path}")
    try:
        return db.conn.execute("SELECT principal_fen, bonus_fen, points_debt FROM members WHERE member_id = ?",
                               (member_id,)).fetchone()
    finally:
        db.close()


def test_two_kiosks_converge_on_head_office_balances(tmp_path, broker, start_hub, make_kiosk, start_agent):
    a, b = make_kiosk("k1"), make_kiosk("k2")
    start_hub(broker.url)
    start_agent(a, broker.url, feed_poll=3600)      # the feed heads alone bring each the other's records
    start_agent(b, broker.url, feed_poll=3600)
    member = a.register(name="Li Lei", phone="13800001111", card_id="CARD-A", operator="admin")
    a.topup("CARD-A", 10000, operator="admin")
    a.purchase("CARD-A", lines_from_amount(5000), operator="admin", pay="stored-value")
    wait_for(lambda: confirmed_all(a), what="kiosk 1 confirmed")

    # kiosk 2 learns the member from head office's feed and serves the same card
    wait_for(lambda: b.conn.execute("SELECT 1 FROM cards WHERE card_id = 'CARD-A'").fetchone(), what="feed at k2")
    b.topup("CARD-A", 2000, operator="admin")
    wait_for(lambda: confirmed_all(b), what="kiosk 2 confirmed")
    wait_for(lambda: a.member_view("CARD-A")["principal_fen"] == 10000 - 5000 + 2000, what="feed at k1")

    principal, bonus, debt = hq_balance(tmp_path / "hq.db", member["member_id"])
    assert principal == 7000 and debt == 0
    for kiosk in (a, b):
        view = kiosk.member_view("CARD-A")
        assert (view["principal_fen"], view["bonus_fen"]) == (principal, bonus)
        assert verify(kiosk.conn) == []
    # the confirmation carried head office's balance: kiosk 2 shows it, nothing left unconfirmed
    assert b.confirmed_balance(member["member_id"])["principal_fen"] == 7000
    assert b.member_view("CARD-A")["shown_balance"]["stored_value_fen"] == principal + bonus
    hq = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    assert verify(hq.conn) == []
    count = "SELECT COUNT(*) FROM journal WHERE kiosk_id = ?"
    n = {k: hq.conn.execute(count, (k,)).fetchone()[0] for k in ("k1", "k2")}
    assert n == {"k1": 4, "k2": 2}    # init stock + register + topup + purchase; init stock + topup
    hq.close()


def test_lost_card_block_reaches_the_kiosk_on_the_next_tap(tmp_path, broker, start_hub, make_kiosk, start_agent):
    k = make_kiosk("k1")
    k.register(name="Han Meimei", phone="13800002222", card_id="CARD-B", operator="admin")
    start_hub(broker.url)
    start_agent(k, broker.url)
    wait_for(lambda: confirmed_all(k), what="register confirmed")
    assert k.member_for_card("CARD-B")["card_status"] == "active"

    Retained(Db(f"sqlite:///{tmp_path / 'hq.db'}")).block("CARD-B", "reported lost at the call centre")

    def refused():
        try:
            k.member_for_card("CARD-B")
        except Refused as exc:
            return exc.code == "card_blocked"
        return False
    wait_for(refused, what="block at the kiosk")
    with pytest.raises(Refused):
        k.topup("CARD-B", 100, operator="admin")


def test_forged_and_corrupted_messages_change_nothing(tmp_path, broker, start_hub, make_kiosk, start_agent, caplog):
    k = make_kiosk("k1")
    k.register(name="Wang Fang", phone="13800003333", card_id="CARD-C", operator="admin")
    start_hub(broker.url)
    start_agent(k, broker.url)
    wait_for(lambda: confirmed_all(k), what="register confirmed")
    before = k.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]

    generate(tmp_path / "evil.pem", tmp_path / "evil.pub")
    forger = Codec("hq-1", "hq", signer=Signer.load(tmp_path / "evil.pem"))
    st = topics.SourceTopics("s1", "k1")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="forger", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    caplog.set_level(logging.WARNING, logger="sync")
    infos = [
        client.publish(topics.BLOCKLIST, forger.pack("blocklist", {"version": 99, "cards": [
            {"card_id": "CARD-C", "reason": "forged"}]}), qos=1, retain=True),
        client.publish(st.ack, forger.pack("ack", {"source_id": "k1", "hwm": 10**6, "held": 0, "corrections": [],
                                                   "balances": []}), qos=1),
        client.publish(st.ack, b'{"v":1,"type":"ack", "broken', qos=1),
        client.publish(st.resp, json.dumps({"v": 1, "type": "response", "amount": 1.5}).encode(), qos=1),
    ]
    for info in infos:
        info.wait_for_publish(5)
    wait_for(lambda: sum("dropped" in r.getMessage() for r in caplog.records) >= 4, what="four drops logged")
    client.loop_stop()
    client.disconnect()

    assert k.member_for_card("CARD-C")["card_status"] == "active"
    assert k.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] == before
    assert k.conn.execute("SELECT COUNT(*) FROM blocklist").fetchone()[0] == 0
    messages = " | ".join(r.getMessage() for r in caplog.records)
    assert "bad signature" in messages and "not JSON" in messages
    # the agent still works after all that
    k.topup("CARD-C", 500, operator="admin")
    wait_for(lambda: confirmed_all(k), what="topup confirmed after the forgeries")


def test_head_office_data_reaches_the_kiosk_and_old_versions_are_ignored(tmp_path, broker, start_hub, make_kiosk,
                                                                        start_agent, caplog):
    from kiosk.ledger import REFERENCE_RULES

    k = make_kiosk("k1")
    hq = Retained(Db(f"sqlite:///{tmp_path / 'hq.db'}"))
    rules = REFERENCE_RULES.read_text().replace("checkin = 5 ", "checkin = 7 ")
    assert "checkin = 7 " in rules
    hq.set_rules(rules)
    hq.add_staff("s01", "Wang Wu", "cashier", "246810", card_id="STAFF-1")
    limits = {"window_hours": 12, "fen": {"per_tx": 1, "member_day": 2, "kiosk_total": 3},
              "points": {"per_tx": 4, "member_day": 5, "kiosk_total": 6}}
    hq.set_limits(limits)
    start_hub(broker.url)
    start_agent(k, broker.url)
    state = SyncState(k)
    wait_for(lambda: state.get("version:limits") and state.get("version:staff"),
             what="head-office data at the kiosk")
    wait_for(lambda: k.rules.checkin_points == 7, what="new rules in force")
    assert k.sign_in("STAFF-1", "246810")["staff_id"] == "s01"
    assert k.offline_limits()["window_hours"] == 12

    # a replay of an older, genuinely signed version changes nothing
    old = Codec("hq-1", "hq", signer=Signer.load(tmp_path / "hq.pem"))
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="replayer", protocol=mqtt.MQTTv5)
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    caplog.set_level(logging.WARNING, logger="sync.inbound")
    hq.set_limits({**limits, "window_hours": 6})                      # version 2: applied
    wait_for(lambda: k.offline_limits()["window_hours"] == 6, what="limits version 2")
    client.publish(topics.LIMITS, old.pack("limits", {**limits, "version": 1, "window_hours": 700}),
                   qos=1).wait_for_publish(5)
    wait_for(lambda: any("refused limits version 1: older than the version 2" in r.getMessage()
                         for r in caplog.records if r.levelno == logging.WARNING),
             what="the replay refused with a warning")
    assert k.offline_limits()["window_hours"] == 6
    client.loop_stop()
    client.disconnect()
