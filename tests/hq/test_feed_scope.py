"""The feed is scoped to a store (sync/hq/feedscope.py): a kiosk of store s1 never receives the records of a
member of store s2 who never tapped there, and does once that member's card is looked up there; its
position still moves past what it is not sent. A looked-up member earns and spends at the kiosk and head
office applies what it journals."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.ledger import lines_from_amount, pii, verify
from kiosk.ledger.errors import NotFound, Refused
from sync.hq.authority import Authority
from sync.hq.db import Db
from sync.hq.ingest import balances
from sync.kiosk_link import keep_looked_up

DAY = "2026-03-05"


def at(hhmm: str) -> str:
    return f"{DAY}T{hhmm}:00+08:00"


def push(chain, k) -> None:
    """The kiosk's unsent journal into head office (the hub's batch)."""
    sent = chain.sent.get(k.kiosk_id, 0)
    records = k.journal(since_seq=sent, limit=100000)
    records = [r for r in records if r["kiosk_id"] == k.kiosk_id and r["seq"] > sent]
    out = chain.ingest.batch(k.store_id, k.kiosk_id, "kiosk", records, pii.keys_for(k.conn, records))
    assert out.corrections == []
    chain.sent[k.kiosk_id] = out.hwm


def follow(authority: Authority, k, position: int) -> tuple[int, list[dict]]:
    """What the kiosk's agent does with the feed (sync/inbound.py): every page up to the head."""
    served = []
    while position < authority.head():
        _, page = authority.feed({"after": position, "limit": 500, "source_id": k.kiosk_id, "store_id": k.store_id})
        assert page["last"] > position
        k.accept_keys(page["keys"])
        for record in page["records"]:
            k.ingest(record, strict=False)
        served += page["records"]
        position = page["last"]
    return position, served


@pytest.fixture
def stores(chain):
    chain.sent = {}
    k1, k1b, k2 = chain.kiosk("k1", "s1"), chain.kiosk("k1b", "s1"), chain.kiosk("k2", "s2")
    a = k1.register(name="Zhang San", phone="13800000001", card_id="CARD-A", operator="c1", at=at("09:00"))
    b = k2.register(name="Li Si", phone="13800000002", card_id="CARD-B", operator="c1", at=at("09:05"))
    k2.topup("CARD-B", 20000, operator="c1", at=at("09:10"))
    k2.purchase("CARD-B", lines_from_amount(90000), operator="c1", at=at("09:20"))
    for k in (k1, k2):
        push(chain, k)
    return chain, Authority(chain.db), (k1, k1b, k2), a["member_id"], b["member_id"]


def test_a_kiosk_receives_another_stores_member_only_after_they_tap_there(stores):
    chain, authority, (k1, k1b, k2), a, b = stores
    position, served = follow(authority, k1, 0)
    assert position == authority.head()                          # moved past what it was not sent
    assert b not in {r["member_id"] for r in served} and served == []    # its own records are not sent back
    assert k1.conn.execute("SELECT COUNT(*) FROM journal WHERE member_id = ?", (b,)).fetchone() == (0,)
    sibling, served_b = follow(authority, k1b, 0)
    assert {r["member_id"] for r in served_b} == {a, None}       # the store's other kiosk: its member, its staff
    assert k1b.member_view("CARD-A")["name"] == "Zhang San"      # with the data key (home store)
    _, served_s2 = follow(authority, k2, 0)
    assert served_s2 == []                                       # s1's member and staff records stay in s1

    # b taps at k1: head office answers with b's records so far and remembers that s1 looked b up
    reason, found = authority.card_lookup({"card_id": "CARD-B", "store_id": "s1", "source_id": "k1"})
    assert reason == "" and [r["kind"] for r in found["records"]] == ["register", "topup", "purchase"]
    assert keep_looked_up(k1, found) == []
    view = k1.member_view("CARD-B")
    assert view["name"] == "Li Si" and view["principal_fen"] == 20000
    assert k1.shown_balance(b)["points"] == found["balance"]["points"] > 0
    k2.purchase("CARD-B", lines_from_amount(5000), operator="c1", at=at("10:00"))
    push(chain, k2)
    position, served = follow(authority, k1, position)
    assert [r["member_id"] for r in served] == [b]               # b's next records now reach s1
    sibling, served_b = follow(authority, k1b, sibling)
    assert [r["member_id"] for r in served_b] == [b]
    assert authority.card_lookup({"card_id": "CARD-A", "store_id": "s1", "source_id": "k1"})[1]["records"] == []

    # at k1 (offline or not) b earns and spends from what k1 holds; head office applies both
    before = balances(chain.db.conn, {b}, 0, DAY)[0]
    earned = k1.purchase("CARD-B", lines_from_amount(10000), operator="c1", at=at("11:00"))
    k1.redeem("CARD-B", "GIFT-MUG", operator="c1", at=at("11:05"))
    push(chain, k1)
    after = balances(chain.db.conn, {b}, 0, DAY)[0]
    assert after["points"] == before["points"] + earned["points_earned"] - 800
    assert after["points"] == k1.member_view("CARD-B")["points"]
    assert verify(k1.conn) == [] and verify(k1b.conn) == []


def test_a_kiosk_with_a_members_later_records_but_not_their_past_still_applies_them(stores):
    """The store's other kiosk receives a looked-up member's next records without their past: a
    stored-value spend or a package use for what it does not hold is a shortfall, not a crash; the member's
    card stays unknown there until they tap there, and its journal still verifies."""
    chain, authority, (k1, k1b, k2), a, b = stores
    k2.sell_package("CARD-B", k2.rules.package("WASH10"), operator="c1", at=at("12:00"))
    push(chain, k2)
    sibling, _ = follow(authority, k1b, 0)
    authority.card_lookup({"card_id": "CARD-B", "store_id": "s1", "source_id": "k1"})      # b taps at k1
    k2.purchase("CARD-B", lines_from_amount(1000), pay="stored-value", operator="c1", at=at("12:10"))
    k2.use_package("CARD-B", operator="c1", at=at("12:20"))
    push(chain, k2)
    _, served = follow(authority, k1b, sibling)
    assert [r["kind"] for r in served] == ["purchase", "package_use"]
    with pytest.raises(NotFound):
        k1b.member_for_card("CARD-B")
    assert verify(k1b.conn) == []


def test_kioskctl_prune_leaves_an_upgraded_kiosk_what_the_scoped_feed_would_bring(stores, tmp_path):
    """A kiosk that followed the chain-wide feed holds other stores' members (without their keys): after
    ``kioskctl prune`` it holds its store's members and those looked up there, and nothing else of the
    others is left in its file, while it still verifies."""
    chain, authority, (k1, k1b, k2), a, b = stores
    k3 = chain.kiosk("k3", "s3")
    c = k3.register(name="Wang Wu", phone="13800000003", card_id="CARD-C", operator="c1", at=at("09:30"))["member_id"]
    k3.topup("CARD-C", 5000, operator="c1", at=at("09:40"))
    for other in (k2, k3):                          # the chain-wide feed before this release: records, no keys
        for record in other.journal(limit=100000):
            k1.ingest(record, strict=False)
    keep_looked_up(k1, authority.card_lookup({"card_id": "CARD-B", "store_id": "s1", "source_id": "k1"})[1])
    assert k1.member_view("CARD-C")["unreadable"] and verify(k1.conn) == []
    ctl = [sys.executable, "-m", "kiosk.cli", "--db", k1.path, "prune", "--json"]
    proc = subprocess.run(ctl, capture_output=True, text=True, env={**os.environ, "KIOSK_DB": str(tmp_path / "x")})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["records_deleted"] >= 3            # c's, and k3's staff record
    with pytest.raises(NotFound):
        k1.member_view("CARD-C")
    assert k1.member_view("CARD-A")["name"] == "Zhang San" and k1.member_view("CARD-B")["name"] == "Li Si"
    assert k1.conn.execute("SELECT COUNT(*) FROM journal WHERE kiosk_id = 'k3'").fetchone() == (0,)
    assert verify(k1.conn) == []
    files = b"".join(p.read_bytes() for p in Path(k1.path).parent.glob(Path(k1.path).name + "*"))
    assert c.encode() not in files and b"CARD-C" not in files


def test_a_member_whose_records_are_too_many_earns_and_is_refused_a_spend_with_a_reason(stores, monkeypatch):
    """Past the look-up's size limit only the records that say who the member is come: the kiosk knows the
    card and earns for them (head office applies it), but holds none of their earlier points, so a spend
    of those is refused here with the numbers, not approved on points it cannot take."""
    chain, authority, (k1, k1b, k2), a, b = stores
    monkeypatch.setattr("sync.hq.authority.FEED_PAGE_BYTES", 1000)
    found = authority.card_lookup({"card_id": "CARD-B", "store_id": "s1", "source_id": "k1"})[1]
    assert [r["kind"] for r in found["records"]] == ["register"]
    keep_looked_up(k1, found)
    assert k1.shown_balance(b)["points"] == found["balance"]["points"] >= 800    # head office's, on screen
    before = balances(chain.db.conn, {b}, 0, DAY)[0]
    earned = k1.purchase("CARD-B", lines_from_amount(10000), operator="c1", at=at("11:00"))
    with pytest.raises(Refused, match="only 100 points available, 800 needed"):
        k1.redeem("CARD-B", "GIFT-MUG", operator="c1", at=at("11:05"))
    push(chain, k1)
    assert balances(chain.db.conn, {b}, 0, DAY)[0]["points"] == before["points"] + earned["points_earned"]
    assert verify(k1.conn) == []


def test_a_tap_of_a_card_the_kiosk_does_not_hold_asks_head_office_who_it_is(stores):
    """What the touchscreen does (kiosk/ui/services.py): offline the card is unknown; online the look-up
    brings the member, who is then served as a member, and known at this kiosk from then on."""
    from kiosk.ui.services import read_card
    chain, authority, (k1, k1b, k2), a, b = stores

    class HeadOffice:                       # sync.kiosk_link.KioskLink.learn_member without the broker
        asked = []

        def learn_member(self, card_id):
            self.asked.append(card_id)
            reason, found = authority.card_lookup({"card_id": card_id, "store_id": "s1", "source_id": "k1"})
            return reason == "" and keep_looked_up(k1, found) == []

    assert read_card(k1, "CARD-B", at=at("10:00"))["kind"] == "unknown"           # offline
    assert read_card(k1, "CARD-X", at=at("10:00"), head_office=HeadOffice())["kind"] == "unknown"   # blank card
    tapped = read_card(k1, "CARD-B", at=at("10:01"), head_office=HeadOffice())
    assert tapped["kind"] == "member" and tapped["view"]["name"] == "Li Si"
    assert read_card(k1, "CARD-B", at=at("10:02"))["kind"] == "member"            # offline, now held here
    assert HeadOffice.asked == ["CARD-X", "CARD-B"]


def test_a_page_reads_only_its_stores_rows_and_small_pages_serve_the_same_records(stores):
    """The stores a feed row belongs in are recorded when it is numbered (hq_store_log): s2's rows are its
    own records, and a member of s2 looked up at s1 is s1's from then on (their past came with the look-up)."""
    chain, authority, (k1, k1b, k2), a, b = stores

    def rows(store: str) -> set[str]:
        return {t for (t,) in chain.db.conn.execute("SELECT tx_id FROM hq_store_log WHERE store_id = ?", (store,))}

    def made_at(store: str) -> set[str]:
        return {r["tx_id"] for r in (json.loads(t) for (t,) in chain.db.conn.execute("SELECT record FROM journal"))
                if r["store_id"] == store}
    assert rows("s2") == made_at("s2") and rows("s1") == made_at("s1") and len(made_at("s2")) > 3
    authority.card_lookup({"card_id": "CARD-B", "store_id": "s1", "source_id": "k1"})
    later = k2.purchase("CARD-B", lines_from_amount(5000), operator="c1", at=at("10:00"))
    push(chain, k2)
    assert rows("s1") == made_at("s1") | {later["tx_id"]} and later["tx_id"] in rows("s2")
    _, whole = follow(authority, k1b, 0)
    position, pages, served = 0, 0, []
    while position < authority.head():
        _, page = authority.feed({"after": position, "limit": 1, "source_id": "k1b", "store_id": "s1"})
        assert page["last"] > position
        position, pages, served = page["last"], pages + 1, served + page["records"]
    assert [r["tx_id"] for r in served] == [r["tx_id"] for r in whole] and pages == len(whole)

def test_the_upgrade_to_hub_migration_10_records_the_stores_of_the_rows_logged_before_it(stores):
    chain, authority, (k1, k1b, k2), a, b = stores
    authority.card_lookup({"card_id": "CARD-B", "store_id": "s1", "source_id": "k1"})
    k2.purchase("CARD-B", lines_from_amount(5000), operator="c1", at=at("10:00"))
    push(chain, k2)
    listed = "SELECT store_id, hq_seq, tx_id FROM hq_store_log ORDER BY store_id, hq_seq"
    recorded = chain.db.conn.execute(listed).fetchall()
    with chain.db.transaction():            # the database as release 9 left it
        chain.db.conn.execute("DROP TABLE hq_store_log")
        chain.db.conn.execute("UPDATE meta SET value = '9' WHERE key = 'schema_version:hub'")
    upgraded = Db(chain.db.url)
    backfilled = set(upgraded.conn.execute(listed).fetchall())
    # membership is judged at the upgrade: the looked-up member's earlier records are s1's too, as the
    # feed before this release (scoped when a page was read) would have served them
    earlier = {("s1", seq, tx) for _, seq, tx in recorded if tx in {r["tx_id"] for r in k2.journal()[:-1]}
               and json.loads(upgraded.conn.execute("SELECT record FROM journal WHERE tx_id = ?", (tx,))
                              .fetchone()[0])["member_id"] == b}
    assert len(earlier) == 3 and backfilled == set(recorded) | earlier
    upgraded.close()


def test_head_offices_own_record_for_no_store_reaches_its_members_stores_only(stores):
    """An erasure is made by head office for no store (store_id "hq"): it goes to the member's home store
    and the stores that looked them up, and never makes a feed for a store called "hq" (a hub publishing
    that store's head crashed: "hq" is not a store id a topic may carry)."""
    chain, authority, (k1, k1b, k2), a, b = stores
    authority.card_lookup({"card_id": "CARD-B", "store_id": "s1", "source_id": "k1"})
    erased = chain.ingest.originate("erase", [{"op": "member.erase", "member_id": b}], store_id="hq",
                                    operator="m1", member_id=b, reason="asked to")
    stores_of = {s for (s,) in chain.db.conn.execute("SELECT store_id FROM hq_store_log WHERE tx_id = ?",
                                                     (erased["tx_id"],))}
    assert stores_of == {"s1", "s2"}
