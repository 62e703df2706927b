"""Restock reaches the store's kiosks through the feed; disabled staff leave every kiosk's staff list."""
from __future__ import annotations

import io
import json
import sys

import pytest

from sync.hq.authority import Authority
from sync.hq.cli import main
from sync.hq.ops_cli import REFUSED, USAGE
from sync.hq.retained import Retained

NOW = "2026-03-04T10:00+08:00"


def test_restock_is_journaled_fed_to_the_kiosk_and_republishes_the_catalogue(chain, capsys):
    k = chain.kiosk("k1", "s1")
    chain.sync()                                     # the kiosk's opening stock (10 mugs) reaches head office
    args = ["restock", "--store", "s1", "--gift", "GIFT-MUG", "--qty", "5", "--db", chain.db.url, "--now", NOW]
    assert main(args + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stock"] == 15 and out["catalogue_version"] == 1
    page = Authority(chain.db).feed({"after": 0, "limit": 100, "source_id": "k1", "store_id": "s1"})[1]
    for record in page["records"]:                   # what the kiosk's agent does with the feed
        k.ingest(record, strict=False)
    assert k.conn.execute("SELECT stock FROM stock WHERE store_id = 's1' AND sku = 'GIFT-MUG'").fetchone() == (15,)
    _, _, catalogue = Retained(chain.db).message("catalogue/s1")
    assert {g["sku"]: g["stock"] for g in catalogue["gifts"]}["GIFT-MUG"] == 15
    assert main(args[:6] + ["-20", *args[7:], "--json"]) == REFUSED
    assert "cannot take away 20" in json.loads(capsys.readouterr().out)["error"]
    assert main(["restock", "--store", "s1", "--gift", "NOPE", "--qty", "1", "--db", chain.db.url]) == REFUSED
    assert main(["restock", "--store", "s1", "--gift", "GIFT-MUG", "--qty", "0", "--db", chain.db.url]) == USAGE
    capsys.readouterr()


def test_staff_list_and_disable(hub_db, capsys, monkeypatch):
    retained = Retained(hub_db)
    retained.add_staff("c1", "Wang Wu", "cashier", "1234", "STAFF-1")
    retained.add_staff("m1", "Zhao Liu", "manager", "5678")
    assert main(["staff", "disable", "c1", "--reason", "left the company", "--by", "m1", "--db", hub_db.url,
                 "--now", NOW]) == 0
    capsys.readouterr()
    assert main(["staff", "list", "--db", hub_db.url, "--json"]) == 0
    listed = {s["staff_id"]: s["disabled"] for s in json.loads(capsys.readouterr().out)["staff"]}
    assert listed == {"c1": True, "m1": False}
    _, _, published = retained.message("staff")
    assert [s["staff_id"] for s in published["staff"]] == ["m1"] and published["version"] == 3
    assert main(["staff", "disable", "nobody", "--reason", "x", "--db", hub_db.url]) == REFUSED
    retained.add_staff("c1", "Wang Wu", "cashier", "1234", "STAFF-1")          # hired again: enabled
    assert [s["staff_id"] for s in retained.message("staff")[2]["staff"]] == ["c1", "m1"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("1234\n"))
    assert main(["staff", "s9", "New", "cashier", "--pin-stdin", "--db", hub_db.url]) == 0   # adding still works
    with pytest.raises(SystemExit):                                                           # never an argument
        main(["staff", "s8", "New", "cashier", "--pin", "1234", "--db", hub_db.url])
