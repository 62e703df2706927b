"""Personal data end to end: after registering members and syncing kiosk -> real Mosquitto -> hub -> the
other kiosk, no name, phone or birthday is readable in any file (ledgers, WALs, the hub's SQLite file or a
PostgreSQL dump, the broker's persistence) nor in a capture of all broker traffic. Head office and the
member's home-store kiosks read them with the chain key; a kiosk of another store gets a member's records
and key only when the member's card is looked up there. Erasure at head office or at a kiosk reaches every
kiosk that holds the member."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from kiosk.ledger import pii, verify
from kiosk.ledger.errors import NotFound
from sync.hq.db import Db
from sync.hq.erasure import erase_member
from sync.hq.retained import Retained
from sync.kiosk_link import KioskLink
from sync.local import SyncState

from .conftest import confirmed_all, wait_for
from .test_kiosk_link import link_config

PEOPLE = [("张三丰", "13800001111", "1990-05-17", "CARD-A"), ("Li Lei", "13800002222", "1985-12-03", "CARD-B")]
OLD_PHONE, NEW_PHONE = "13800002222", "13911112222"


def needles() -> dict[str, list[bytes]]:
    """Every spelling a value could leak in: UTF-8, JSON-escaped, and the phone in E.164."""
    found = {}
    for name, phone, birthday, _card in PEOPLE:
        found[name] = [name.encode(), json.dumps(name).strip('"').encode()]
        found[phone] = [phone.encode()]
        found[birthday] = [birthday.encode()]
    found[NEW_PHONE] = [NEW_PHONE.encode()]
    return found


def hits(blobs: dict[str, bytes]) -> list[str]:
    return [f"{value} in {where}" for where, blob in blobs.items() for value, spellings in needles().items()
            if any(s in blob for s in spellings)]


def files_under(*folders: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for folder in folders for p in folder.rglob("*") if p.is_file()}


class Capture:
    """A subscriber on ``#``: every message any client publishes through the broker."""

    def __init__(self, port: int):
        self.payloads: list[bytes] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="capture", protocol=mqtt.MQTTv5)
        self.client.on_message = lambda c, u, msg: self.payloads.append(msg.topic.encode() + b" " + msg.payload)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("#", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_for(self.client.is_connected, what="capture connected")

    def stop(self) -> bytes:
        self.client.loop_stop()
        self.client.disconnect()
        return b"\n".join(self.payloads)


def register_and_sync(broker, start_hub, make_kiosk, start_agent, db_url=None):
    capture = Capture(broker.port)
    a, b = make_kiosk("k1"), make_kiosk("k2", "s2")
    start_hub(broker.url, db_url)
    start_agent(a, broker.url)
    # kiosk 2 (store s2) hears no head for store s1's rows: its position moves past them at its periodic
    # feed request (30 s by default), made every second here
    start_agent(b, broker.url, feed_poll=1.0)
    for name, phone, birthday, card in PEOPLE:
        a.register(name=name, phone=phone, birthday=birthday, card_id=card, operator="admin")
    a.edit_profile("CARD-B", phone=NEW_PHONE, operator="admin")
    a.topup("CARD-A", 10000, operator="admin")
    wait_for(lambda: confirmed_all(a), what="kiosk 1 confirmed")
    wait_for(lambda: SyncState(b).get("feed", 0) >= 5, what="kiosk 2's feed position past kiosk 1's records")
    assert b.conn.execute("SELECT COUNT(*) FROM journal WHERE kiosk_id = 'k1'").fetchone() == (0,)
    return a, b, capture


def look_up(tmp_path, broker, hq_keys, kiosk, *cards) -> None:
    """Members' cards tapped at ``kiosk`` (of store s2) while it is online."""
    link = KioskLink.from_config(link_config(tmp_path, broker.url, hq_keys["public"], kiosk.kiosk_id, "s2"),
                                 kiosk.path)
    try:
        wait_for(link.requester.ready.is_set, what="the kiosk's link subscribed")
        assert all(link.learn_member(card) for card in cards)
    finally:
        link.close()


@pytest.mark.parametrize("hub_db", ["sqlite", "postgresql"])
def test_no_name_phone_or_birthday_in_any_file_or_broker_traffic(request, tmp_path, hub_db, broker, start_hub,
                                                                 make_kiosk, start_agent, services, hq_keys):
    db_url = request.getfixturevalue("pg_url") if hub_db == "postgresql" else None
    a, b, capture = register_and_sync(broker, start_hub, make_kiosk, start_agent, db_url)

    # kiosk 2 (another store) holds neither the records nor the keys until a member taps there (minimisation)
    assert b.conn.execute("SELECT COUNT(*) FROM members").fetchone() == (0,)
    look_up(tmp_path, broker, hq_keys, b, "CARD-B")
    assert b.member_view("CARD-B")["name"] == "Li Lei" and b.member_view("CARD-B")["birthday"] == "1985-12-03"
    assert b.member_by_phone(NEW_PHONE)["card_id"] == "CARD-B"
    with pytest.raises(NotFound):
        b.member_view("CARD-A")
    with pytest.raises(Exception, match="no active member"):
        b.member_by_phone(OLD_PHONE)
    # head office reads them all
    hq = Db(db_url or f"sqlite:///{tmp_path / 'hq.db'}")
    member_id = a.member_for_card("CARD-B")["member_id"]
    row = hq.conn.execute("SELECT name, phone FROM members WHERE member_id = ?", (member_id,)).fetchone()
    assert pii.reveal_row(hq.conn, hq.keyring, member_id, {"name": row[0], "phone": row[1]}) == {
        "name": "Li Lei", "phone": "+86" + NEW_PHONE}
    assert verify(a.conn) == [] and verify(b.conn) == []
    assert db_url or verify(hq.conn) == []          # verify reads SQLite's rowid
    hq.close()

    for running in services:
        running.stop()
    traffic = capture.stop()
    broker.stop()                                    # the broker saves its persistence file on the way out
    assert len(capture.payloads) > 5 and b"tx.batch" in traffic and b'"keys"' in traffic
    blobs = files_under(tmp_path)
    assert {"k1.db-wal", "k2.db-wal", "mosquitto.db"} <= {Path(p).name for p in blobs}
    for private in ("k1.db", "k1.db-wal", "k1.db.key", *(() if db_url else ("hq.db",))):
        assert (tmp_path / private).stat().st_mode & 0o077 == 0, private
    blobs["broker traffic"] = traffic
    if db_url:
        blobs["pg_dump"] = subprocess.run(["pg_dump", "--no-owner", db_url], capture_output=True,
                                          check=True).stdout
        assert b"member_keys" in blobs["pg_dump"]
    assert hits(blobs) == []


def test_erasure_at_head_office_and_at_a_kiosk_reaches_everyone(tmp_path, broker, start_hub, make_kiosk,
                                                                start_agent, hq_keys):
    a, b, capture = register_and_sync(broker, start_hub, make_kiosk, start_agent)
    capture.stop()
    look_up(tmp_path, broker, hq_keys, b, "CARD-A", "CARD-B")      # both tap at kiosk 2: it holds them now
    before = {card: (a.member_view(card)["principal_fen"], a.member_view(card)["points"]) for *_, card in PEOPLE}
    hq = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    Retained(hq).add_staff("m01", "Boss", "manager", "135790")
    erased_at_hq = a.member_for_card("CARD-A")["member_id"]
    with pytest.raises(PermissionError):
        erase_member(hq, erased_at_hq, by="nobody", reason="asked", now=a.moment())
    erase_member(hq, erased_at_hq, by="m01", reason="member asked (PIPL art. 47)", now=a.moment())
    a.erase_member("CARD-B", reason="member asked at the counter", operator="admin")

    for kiosk in (a, b):
        wait_for(lambda: all(kiosk.member_view(card)["erased"] for *_, card in PEOPLE), what="erasure everywhere")
    wait_for(lambda: hq.conn.execute("SELECT COUNT(*) FROM member_keys WHERE erased = 1").fetchone()[0] == 2,
             what="the kiosk's erasure at head office")
    for kiosk in (a, b):
        view = kiosk.member_view("CARD-A")
        assert (view["name"], view["birthday"], view["phone_masked"]) == ("", None, "")
        assert {card: (kiosk.member_view(card)["principal_fen"], kiosk.member_view(card)["points"])
                for *_, card in PEOPLE} == before
        assert kiosk.conn.execute("SELECT COUNT(*) FROM member_keys WHERE data_key IS NOT NULL").fetchone()[0] == 0
        assert verify(kiosk.conn) == []
    assert verify(hq.conn) == []
    hq.close()
