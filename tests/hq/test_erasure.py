"""kiosk-hq member erase: a manager's journaled action that destroys the member's key at head office and,
through the feed, at the kiosk; balances stay, both journals verify, a second erasure is refused."""
from __future__ import annotations

import json

from kiosk.ledger import verify
from sync.hq.authority import Authority
from sync.hq.cli import main
from sync.hq.ingest import balances
from sync.hq.ops_cli import REFUSED
from sync.hq.retained import Retained


def test_head_office_erasure_reaches_the_kiosk_and_keeps_balances(chain, capsys):
    k = chain.kiosk("k1", "s1")
    member_id = k.register(name="王五", phone="13700137000", card_id="C1", birthday="1980-02-29",
                           operator="c1")["member_id"]
    k.topup("C1", 5000, operator="c1")
    chain.sync()
    Retained(chain.db).add_staff("m01", "Boss", "manager", "135790")
    before = balances(chain.db.conn, {member_id}, 0, "2026-11-24")
    erase = ["member", "erase", member_id, "--reason", "member asked", "--db", chain.db.url, "--json"]
    assert main([*erase, "--by", "c1"]) == REFUSED                    # a cashier cannot erase
    assert "not a manager" in json.loads(capsys.readouterr().out)["error"]
    assert main([*erase, "--by", "m01"]) == 0
    assert json.loads(capsys.readouterr().out)["erased"] is True
    assert main([*erase, "--by", "m01"]) == REFUSED
    assert "already erased" in json.loads(capsys.readouterr().out)["error"]

    assert balances(chain.db.conn, {member_id}, 0, "2026-11-24") == before
    assert chain.db.conn.execute("SELECT name, phone, birthday FROM members").fetchall() == [("", "", None)]
    assert verify(chain.db.conn) == []
    page = Authority(chain.db).feed({"after": 0, "limit": 100, "source_id": "k1", "store_id": "s1"})[1]
    assert page["keys"] == {}                                          # an erased member's key never travels
    for record in page["records"]:                                     # what the kiosk's agent does
        k.ingest(record, strict=False)
    view = k.member_view("C1")
    assert view["erased"] and view["name"] == "" and view["principal_fen"] == 5000
    assert verify(k.conn) == []


def test_head_office_keeps_only_keys_of_the_batchs_own_profiles_under_its_chain_key(chain, tmp_path, caplog):
    from kiosk.ledger import Ledger, pii
    k = chain.kiosk("k1", "s1")
    outsider = Ledger.create(tmp_path / "x.db", kiosk_id="x1", store_id="s1")      # another chain key
    mine = k.register(name="A", phone="13800000001", card_id="C1", operator="c1")["member_id"]
    theirs = outsider.register(name="B", phone="13800000002", card_id="C2", operator="admin")["member_id"]
    records = k.journal()
    keys = {**pii.keys_for(k.conn, records), **pii.keys_for(outsider.conn, outsider.journal())}
    chain.ingest.batch("s1", "k1", "kiosk", records, keys)                       # a key for a stranger rides along
    held = dict(chain.db.conn.execute("SELECT member_id, data_key IS NOT NULL FROM member_keys").fetchall())
    assert held == {mine: 1}
    assert theirs in caplog.text and "refused" in caplog.text
    outsider.close()


def test_erasure_on_postgresql_rewrites_the_key_table(pg_url, tmp_path, chain_key_file):
    from kiosk.ledger import Ledger, pii
    from sync.hq.db import Db
    from sync.hq.erasure import erase_member
    from sync.hq.ingest import Ingest
    k = Ledger.create(tmp_path / "k1.db", kiosk_id="k1", store_id="s1", pii_key=pii.load_or_make(chain_key_file))
    member_id = k.register(name="A", phone="13800000001", card_id="C1", operator="admin")["member_id"]
    db = Db(pg_url)
    Ingest(db).batch("s1", "k1", "kiosk", k.journal(), pii.keys_for(k.conn, k.journal()))
    assert pii.holder_by_phone(db.conn, db.keyring, "+8613800000001")[0] == member_id
    Retained(db).add_staff("m01", "Boss", "manager", "135790")
    erase_member(db, member_id, by="m01", reason="asked", now=k.moment())
    assert db.conn.execute("SELECT data_key, phone_hash, erased FROM member_keys").fetchall() == [(None, None, 1)]
    assert pii.holder_by_phone(db.conn, db.keyring, "+8613800000001") is None
    db.close()
    k.close()
