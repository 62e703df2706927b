"""Head office's commands for sources and certificates: kiosk-hq enrol / retire / sources / pki."""
from __future__ import annotations

import json
import os

import pytest
from cryptography import x509

from kiosk.ledger.clock import FixedClock
from sync.hq.cli import main as kiosk_hq
from sync.hq.db import HUB_MIGRATIONS, Db
from sync.hq.ingest import Ingest
from sync.hq.sources import Refused, Sources


def run(capsys, *argv) -> tuple[int, object, str]:
    capsys.readouterr()
    status = kiosk_hq(list(argv))
    out, err = capsys.readouterr()
    return status, json.loads(out) if out.strip() else None, err


def test_enrol_retire_and_list_sources(tmp_path, capsys):
    db = f"sqlite:///{tmp_path / 'hq.db'}"
    status, enrolled, _ = run(capsys, "enrol", "--db", db, "k0101", "--store", "s01")
    assert status == 0 and enrolled["identities"] == ["k0101", "k0101.ui"]
    for argv, words in ((("k0101", "--store", "s01"), "already enrolled"),
                        (("k0101", "--store", "s02"), "never changes store"),
                        (("hq-3", "--store", "s01"), "reserved for head office"),
                        (("k0102",), "--store is required"),
                        (("k/0102", "--store", "s01"), "must be 1-32 letters"),
                        (("k0102", "--store", "s01", "--from-seen"), "either")):
        status, out, err = run(capsys, "enrol", "--db", db, *argv)
        assert (status, out) == (2, None) and words in err and len(err.splitlines()) == 1, (argv, err)
    assert run(capsys, "retire", "--db", db, "k0101", "--reason", "replaced")[0] == 0
    status, _, err = run(capsys, "retire", "--db", db, "k0101", "--reason", "again")
    assert status == 2 and "already retired" in err
    status, _, err = run(capsys, "retire", "--db", db, "k0999", "--reason", "who?")
    assert status == 2 and "not enrolled" in err
    (row,) = run(capsys, "sources", "--db", db)[1]
    assert (row["source_id"], row["store_id"], row["enrolled"], row["retired_reason"]) == ("k0101", "s01", False,
                                                                                              "replaced")
    assert run(capsys, "enrol", "--db", db, "k0101", "--store", "s01")[0] == 0        # back in service
    assert run(capsys, "sources", "--db", db)[1][0]["enrolled"] is True


def test_the_hubs_check(tmp_path):
    db = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    sources = Sources(db)
    sources.enrol("k1", "s1")
    sources.enrol("web1", "s1", "web")
    assert sources.admit("s1", "k1", "kiosk", records=True) == "k1"
    assert sources.admit("s1", "k1.ui", "kiosk", records=False) == "k1"
    for store, identity, channel, records, words in (
            ("s1", "k2", "kiosk", True, "not enrolled"), ("s2", "k1", "kiosk", True, "claims store s2"),
            ("s1", "k1", "pos", True, "claims channel pos"), ("s1", "k1.ui", "kiosk", True, "may not send records"),
            ("s1", "web1", "kiosk", False, "enrolled as web")):
        with pytest.raises(Refused, match=words):
            sources.admit(store, identity, channel, records=records)
    sources.retire("k1", "lost")
    with pytest.raises(Refused, match="retired"):
        sources.admit("s1", "k1.ui", "kiosk", records=False)
    db.close()


def test_a_refusal_is_alerted_once_per_source_and_reason_every_ten_minutes(tmp_path):
    clock = FixedClock("2026-11-24T02:00:00Z")
    db = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    sources = Sources(db, clock)
    topic = "kiosk/v1/s1/k9/tx"
    assert sources.refusal_alert("k9", "source k9 is not enrolled", topic)["source_id"] == "k9"
    clock.advance(minutes=9)
    assert sources.refusal_alert("k9.ui", "source k9 is not enrolled", topic + ".ui") is None     # folded
    assert sources.refusal_alert("k9", "source k9 claims store s2", topic)                      # another reason
    assert sources.refusal_alert("k8", "source k8 is not enrolled", topic)                      # another source
    clock.advance(minutes=2)
    assert sources.refusal_alert("k9", "source k9 is not enrolled", topic)                      # 11 minutes on
    assert db.conn.execute("SELECT COUNT(*) FROM hq_alerts").fetchone()[0] == 4
    db.close()


def test_enrol_from_seen_for_a_hub_upgraded_with_running_kiosks(tmp_path, make_kiosk, capsys):
    """A hub from before enrolment already knows its sources: one command enrols exactly those."""
    url = f"sqlite:///{tmp_path / 'hq.db'}"
    db = Db(url)
    for kiosk_id, store in (("k1", "s1"), ("k2", "s2")):
        kiosk = make_kiosk(kiosk_id, store)
        kiosk.register(name="Tang Yi", phone=f"1380000{kiosk_id[-1]}000", card_id=f"C-{kiosk_id}", operator="admin")
        Ingest(db).batch(store, kiosk_id, "kiosk", kiosk.journal())
    db.close()
    status, enrolled, _ = run(capsys, "enrol", "--db", url, "--from-seen")
    assert status == 0 and [(e["source_id"], e["store_id"]) for e in enrolled] == [("k1", "s1"), ("k2", "s2")]
    assert run(capsys, "enrol", "--db", url, "--from-seen")[1] == []          # once only


def test_enrolment_migrates_on_postgresql(pg_url):
    db = Db(pg_url)
    version = db.conn.execute("SELECT value FROM meta WHERE key = 'schema_version:hub'").fetchone()[0]
    assert int(version) == len(HUB_MIGRATIONS)
    Sources(db).enrol("k1", "s1")
    assert Sources(db).admit("s1", "k1", "kiosk", records=True) == "k1"
    db.close()


def test_pki_makes_two_cas_and_signs_each_name_with_the_right_one(tmp_path, capsys):
    out = str(tmp_path / "pki")
    status, cas, _ = run(capsys, "pki", "init", "--out", out, "--chain", "Demo")
    assert status == 0 and set(cas) == {"sources-ca", "hq-ca", "crl"}
    assert run(capsys, "pki", "init", "--out", out)[0] == 2                     # a CA is made once
    signed = {}
    for cn, extra in (("k0101", ()), ("k0101.ui", ()), ("hq-1", ()), ("gateway", ()),
                      ("broker", ("--server", "mqtt.example.cn", "--server", "10.0.0.5"))):
        status, files, _ = run(capsys, "pki", "issue", "--out", out, cn, *extra)
        assert status == 0 and oct(os.stat(files["key"]).st_mode & 0o777) == "0o600"
        cert = x509.load_pem_x509_certificate(open(files["cert"], "rb").read())
        assert cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value == cn
        signed[cn] = cert.issuer.rfc4514_string()
    assert signed["k0101"] == signed["k0101.ui"] == signed["broker"] == "CN=Demo sources CA"
    assert signed["hq-1"] == signed["gateway"] == "CN=Demo head office CA"
    for cn, words in (("k0101", "exists already"), ("k0101.sync", "neither a source id"), ("a b", "neither")):
        status, _, err = run(capsys, "pki", "issue", "--out", out, cn)
        assert status == 2 and words in err, err
    status, _, err = run(capsys, "pki", "issue", "--out", str(tmp_path / "empty"), "k1")
    assert status == 2 and "pki init" in err
    assert run(capsys, "pki", "revoke", "--out", out, "k0101")[1]["revoked"] == 1
    crl = x509.load_pem_x509_crl(open(f"{out}/sources-ca.crl", "rb").read())
    assert [r.serial_number for r in crl] == [x509.load_pem_x509_certificate(
        open(f"{out}/k0101.crt", "rb").read()).serial_number]
    for cn, words in (("k0101", "already revoked"), ("hq-1", "not issued by the sources' CA"), ("k9", "no k9.crt")):
        status, _, err = run(capsys, "pki", "revoke", "--out", out, cn)
        assert status == 2 and words in err, err
