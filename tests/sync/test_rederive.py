"""Head office re-derives every kiosk record's effects from its inputs and applies only what they
explain: honest records of every kind go through unchanged, forged ones are rejected, journaled as
rejected, corrected at the kiosk and alerted, and an offline double spend still becomes a debt."""
from __future__ import annotations

import copy
import json
import os
import uuid
from pathlib import Path

import pytest

from kiosk.ledger import Ledger, lines_from_amount, pii
from kiosk.ledger.journal import seal
from sync.hq import feedscope
from sync.hq.db import Db
from sync.hq.ingest import Ingest
from sync.hq.policy import Policy, load_policy
from sync.hq.retained import Retained

FULL = (Path(__file__).parents[2] / "examples" / "rules-full.toml").read_text()
DAY, LATER = "2026-11-20T10:00", "2026-11-20T10:05"


def send(hq, kiosk, records, source="k1", store="s1"):
    """A batch as the kiosk's agent sends it: the records and the data keys of the members they register."""
    return hq.batch(store, source, "kiosk", records, keys=pii.keys_for(kiosk.conn, records))


def hub(url: str):
    db = Db(url)
    Retained(db).set_rules(FULL)
    return Ingest(db)


@pytest.fixture
def hq(tmp_path):
    ingest = hub(f"sqlite:///{tmp_path / 'hq.db'}")
    yield ingest
    ingest.db.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_hq(request, tmp_path):
    """The hub on SQLite and on PostgreSQL (the replayed ledger code runs on both)."""
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else f"sqlite:///{tmp_path / 'hq.db'}"
    ingest = hub(url)
    yield ingest
    ingest.db.close()


@pytest.fixture
def kiosk(tmp_path):
    led = Ledger.create(tmp_path / "k1.db", kiosk_id="k1", store_id="s1", rules_text=FULL, at="2026-01-01T08:00",
                          pii_key=pii.load_or_make(os.environ["KIOSK_HQ_KEY"]))
    led.register(name="A", phone="13800000001", card_id="A", birthday="1990-11-17", operator="admin",
                 at="2026-11-01T09:00")
    led.register(name="B", phone="13800000002", card_id="B", referrer_card="A", operator="admin",
                 at="2026-11-01T09:00")
    yield led
    led.close()


def every_kind(k: Ledger) -> None:
    """One of each counter operation, honest."""
    k.topup("A", 100_000, operator="admin", at="2026-11-02T10:00")
    k.topup("B", 50_000, operator="admin", at="2026-11-02T10:00")
    bought = k.purchase("B", lines_from_amount(12_345, [("SKU1", "food", 10_000), ("SKU2", "drink", 2_345)]),
                        pay="stored-value", operator="admin", at="2026-11-03T10:00")
    k.purchase("A", lines_from_amount(30_000), operator="admin", at="2026-11-03T11:00")
    k.refund(bought["tx_id"], 5_000, operator="admin", at="2026-11-03T12:00")
    top = k.topup("B", 1_000, operator="admin", at=DAY)
    k.undo_topup(top["tx_id"], reason="typo", operator="admin", at=LATER)
    k.checkin("A", at=DAY)
    k.claim_receipt("A", store_id="s1", pos_txn="P1", amount_fen=8_000, issued_at=1_795_000_000, at=DAY)
    k.visit("A", at=DAY)
    plan = k.rules.packages[0]
    k.sell_package("A", plan, pay="stored-value", operator="admin", at=DAY)
    k.use_package("A", operator="admin", at=LATER)
    k.issue_coupon("A", "C10", operator="admin", at=DAY)
    k.purchase("A", lines_from_amount(20_000), coupons=["C10"], points_cash=200, operator="admin", at=DAY)
    k.purchase("A", lines_from_amount(5_000), printed_coupons=[("V20", 3)], operator="admin", at=DAY)
    k.redeem("A", k.rules.gifts[0].sku, operator="admin", at=DAY)
    k.convert_points("A", 100, at=DAY)
    k.transfer_points("A", "B", 50, at=DAY)
    k.adjust("A", 500, reason="goodwill", operator="admin", at=DAY)
    k.edit_profile("B", name="Bee", operator="admin", at=DAY)
    k.report_lost("B", operator="admin", at=DAY)
    k.replace_card("B", "B2", operator="admin", at=DAY)
    k.close_account("B2", reason="moving", operator="admin", at=LATER)


def test_honest_records_of_every_kind_are_applied_unchanged(any_hq, kiosk):
    hq = any_hq
    every_kind(kiosk)
    records = kiosk.journal()
    out = send(hq, kiosk, records)
    assert out.corrections == [] and out.alerts == []
    assert out.applied == len(records)
    journaled = [json.loads(r) for (r,) in hq.conn.execute(
        "SELECT record FROM journal WHERE kiosk_id = 'k1' ORDER BY seq")]
    assert journaled == records


# -- forged records ----------------------------------------------------------------------------------
MILLION_YUAN = 100_000_000


@pytest.fixture
def store2_member(hq, tmp_path):
    """A member of another store, known to head office."""
    other = Ledger.create(tmp_path / "k9.db", kiosk_id="k9", store_id="s2", rules_text=FULL, at="2026-01-01T08:00",
                          pii_key=pii.load_or_make(os.environ["KIOSK_HQ_KEY"]))
    reg = other.register(name="Z", phone="13800000009", card_id="Z", operator="admin", at="2026-11-01T09:00")
    send(hq, other, other.journal(), "k9", "s2")
    other.close()
    return reg["member_id"]


def forge(records: list[dict], template: dict, change) -> dict:
    """What an attacker holding the kiosk's certificate sends: a record changed, sealed onto the chain."""
    record = {**copy.deepcopy(template), "tx_id": str(uuid.uuid4()), "seq": records[-1]["seq"] + 1}
    change(record)
    record.pop("hash"), record.pop("prev")
    return seal(record, records[-1]["hash"])


def rejected(hq, out, record: dict, reason: str) -> None:
    """Rejected with the reason: not journaled, kept in hq_rejected, corrected at the kiosk, alerted."""
    assert [(c["tx_id"], c["kind"]) for c in out.corrections] == [(record["tx_id"], "rejected")]
    assert reason in out.corrections[0]["detail"]["reason"]
    assert [(a["kind"], a["tx_id"]) for a in out.alerts] == [("rejected", record["tx_id"])]
    assert hq.conn.execute("SELECT 1 FROM journal WHERE tx_id = ?", (record["tx_id"],)).fetchone() is None
    assert hq.conn.execute("SELECT reason FROM hq_rejected WHERE tx_id = ?", (record["tx_id"],)).fetchone()[0] \
        == out.corrections[0]["detail"]["reason"]
    assert out.hwm == record["seq"]        # the chain goes on: the kiosk's next record is applied


def balances(hq, member_id: str) -> tuple:
    return hq.conn.execute("SELECT principal_fen, bonus_fen, points_debt FROM members WHERE member_id = ?",
                           (member_id,)).fetchone()


@pytest.fixture
def honest(hq, kiosk):
    """The kiosk's honest journal so far, applied; then one more honest record, not yet sent."""
    kiosk.checkin("A", at=DAY)
    records = kiosk.journal()
    send(hq, kiosk, records[:-1])
    return records[:-1], records[-1]


def test_a_million_of_stored_value_for_another_stores_member_is_rejected(hq, honest, store2_member):
    records, checkin = honest
    before = balances(hq, store2_member)
    record = forge(records, checkin, lambda r: r["effects"].append(
        {"op": "sv", "member_id": store2_member, "principal": MILLION_YUAN, "bonus": 0}))
    out = hq.batch("s1", "k1", "kiosk", [record])
    rejected(hq, out, record, "the effects differ from what the inputs give")
    assert balances(hq, store2_member) == before


def test_a_negative_debt_giving_a_million_points_is_rejected(hq, honest):
    records, checkin = honest
    member = checkin["member_id"]
    record = forge(records, checkin, lambda r: r["effects"].append({"op": "debt", "member_id": member,
                                                                     "delta": -1_000_000}))
    out = hq.batch("s1", "k1", "kiosk", [record])
    rejected(hq, out, record, "points+")
    assert balances(hq, member)[2] == 0


def test_a_purchase_with_a_negative_payable_is_rejected(hq, kiosk):
    kiosk.topup("A", 10_000, operator="admin", at=DAY)
    kiosk.purchase("A", lines_from_amount(5_000), pay="stored-value", operator="admin", at=LATER)
    records = kiosk.journal()
    send(hq, kiosk, records[:-1])
    member = records[-1]["member_id"]

    def negative(r):
        r["inputs"]["args"]["lines"] = [{"amount_fen": -5_000, "sku": "", "category": ""}]
        for e in r["effects"]:
            if e["op"] == "sv":
                e["principal"] = 5_000          # the "payment" puts money in
            if e["op"] == "purchase":
                e.update(payable_fen=-5_000, sv_principal_fen=-5_000)
    record = forge(records[:-1], records[-1], negative)
    out = hq.batch("s1", "k1", "kiosk", [record])
    rejected(hq, out, record, "a purchase needs a positive amount")
    assert balances(hq, member)[0] == 10_000


def test_a_negative_topup_is_rejected(hq, kiosk):
    kiosk.topup("A", 100_000, operator="admin", at=DAY)
    records = kiosk.journal()
    send(hq, kiosk, records[:-1])

    def negative(r):
        r["inputs"]["args"]["amount_fen"] = -100_000
        r["data"]["amount_fen"] = -100_000
        for e in r["effects"]:
            if e["op"] in ("sv", "topup"):
                e.update(principal=-100_000, bonus=0)
    record = forge(records[:-1], records[-1], negative)
    out = hq.batch("s1", "k1", "kiosk", [record])
    rejected(hq, out, record, "a top-up must be more than 0")


def test_effects_beyond_the_inputs_are_rejected_even_when_the_inputs_are_honest(hq, kiosk):
    """A top-up of 100.00 whose effects credit 1,000.00: the inputs explain 100.00 only."""
    kiosk.topup("A", 10_000, operator="admin", at=DAY)
    records = kiosk.journal()
    send(hq, kiosk, records[:-1])
    record = forge(records[:-1], records[-1], lambda r: [e.update(principal=100_000) for e in r["effects"]
                                                           if e["op"] in ("sv", "topup")])
    out = hq.batch("s1", "k1", "kiosk", [record])
    rejected(hq, out, record, "principal")
    assert out.corrections[0]["detail"]["derived"][f"principal {record['member_id']}"] == 10_000


def test_a_record_claiming_another_operation_or_unknown_rules_is_rejected(hq, honest):
    records, checkin = honest
    as_topup = forge(records, checkin, lambda r: r["inputs"].update(call="topup"))
    rejected(hq, hq.batch("s1", "k1", "kiosk", [as_topup]), as_topup, "cannot come from topup")
    unknown = forge(records + [as_topup], checkin, lambda r: r["inputs"].update(rules="0123456789abcdef"))
    rejected(hq, hq.batch("s1", "k1", "kiosk", [unknown]), unknown, "were never published")


def test_a_record_without_inputs_after_records_with_inputs_is_rejected(hq, kiosk):
    hq.conn.execute("INSERT INTO hq_legacy_sources (source_id) VALUES ('k1')")      # known before the upgrade
    kiosk.checkin("A", at=DAY)
    records = kiosk.journal()
    send(hq, kiosk, records[:-1])                                      # its first records with inputs
    old = forge(records[:-1], records[-1], lambda r: (r.pop("inputs"), r.update(v=2)))
    rejected(hq, hq.batch("s1", "k1", "kiosk", [old]), old, "from a source that already sent records with inputs")


def as_version_2(records: list[dict]) -> list[dict]:
    """The same records as the previous release wrote them: no inputs."""
    old = []
    for record in records:
        record = {k: v for k, v in record.items() if k not in ("inputs", "prev", "hash")}
        old.append(seal({**record, "v": 2}, old[-1]["hash"] if old else "0" * 64))
    return old


def test_records_of_a_kiosk_still_on_version_2_are_accepted_until_its_first_version_3(hq, kiosk):
    """The re-derivation migration lets the sources head office already knew send records without inputs until they
    upgrade; a source first heard of afterwards, or one that sent inputs once, cannot."""
    kiosk.checkin("A", at=DAY)
    old = as_version_2(kiosk.journal())
    refused = hq.batch("s1", "k1", "kiosk", old[:1])
    assert [c["kind"] for c in refused.corrections] == ["rejected"]
    assert "was enrolled after records had inputs" in refused.corrections[0]["detail"]["reason"]

    hq.conn.execute("INSERT INTO hq_legacy_sources (source_id) VALUES ('k2')")     # known before the upgrade
    old = [{**r, "kiosk_id": "k2"} for r in as_version_2(kiosk.journal())]
    old = as_version_2(old)
    out = hq.batch("s1", "k2", "kiosk", old, keys=pii.keys_for(kiosk.conn, old))
    assert out.corrections == [] and out.applied == len(old)

    hq.conn.execute("INSERT INTO hq_legacy_sources (source_id) VALUES ('k3')")
    refusing = Ingest(hq.db, accept_legacy=False)                                   # kiosk-hq run --refuse-unverified
    old = as_version_2([{**r, "kiosk_id": "k3", "tx_id": str(uuid.uuid4())} for r in kiosk.journal()[:1]])
    assert "no longer accepted" in refusing.batch("s1", "k3", "kiosk", old).corrections[0]["detail"]["reason"]


def test_the_migration_keeps_the_published_rules_and_the_sources_it_knew(tmp_path):
    from sync.hq.db import HUB_MIGRATIONS
    [mine] = [m.version for m in HUB_MIGRATIONS if m.name.startswith("re-derived effects")]
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Db(url)
    Retained(db).set_rules(FULL)
    db.conn.executescript("DROP TABLE hq_rules; DROP TABLE hq_rejected; DROP TABLE hq_legacy_sources;"
                          f" UPDATE meta SET value = '{mine - 1}' WHERE key = 'schema_version:hub';"
                          " INSERT INTO hq_sources (source_id, store_id, channel, last_seen)"
                          " VALUES ('k7', 's1', 'kiosk', '');")
    db.close()
    db = Db(url)                                    # the release with the migration opens it
    assert db.conn.execute("SELECT source_id FROM hq_legacy_sources").fetchall() == [("k7",)]
    (text,) = db.conn.execute("SELECT text FROM hq_rules").fetchone()
    assert text.strip() == FULL.strip()
    db.close()


def test_manual_adjustments_are_bounded_by_the_operators_role(hq, kiosk):
    kiosk.add_staff("m1", "Mia", "manager", "1234", at="2026-01-01T08:00")      # head office has not heard of her
    kiosk.adjust("A", 10_000, reason="within a manager's bound", operator="m1", at=DAY)
    kiosk.adjust("A", 10_001, reason="above it", operator="m1", at=LATER)
    records = kiosk.journal()
    out = send(hq, kiosk, records)
    assert out.applied == len(records) - 1
    rejected(hq, out, records[-1], "a unknown may adjust at most 10000 points, not 10001")
    hq.verifier.policy = load_policy("[adjust_points]\nunknown = 20000\n")
    assert Policy().limit("adjust_points", "manager") == 10_000
    with pytest.raises(ValueError, match="adjust_points.boss"):
        load_policy("[adjust_points]\nboss = 1\n")


def test_a_policy_kind_may_not_touch_what_it_has_no_business_with(hq, honest, store2_member):
    records, checkin = honest
    credit = {"op": "sv", "member_id": checkin["member_id"], "principal": 5, "bonus": 0}
    expire = forge(records, checkin, lambda r: (r.update(kind="expire"), r["inputs"].update(call="expire"),
                                                r["effects"].__setitem__(slice(None), [credit])))
    rejected(hq, hq.batch("s1", "k1", "kiosk", [expire]), expire, "a expire record may not change principal")
    steal = forge(records + [expire], checkin, lambda r: (
        r.update(kind="adjust"), r["inputs"].update(call="adjust"), r["effects"].__setitem__(slice(None), [
            {"op": "lot.add", "lot_id": "x", "member_id": store2_member, "points": 5, "expires_on": None}])))
    rejected(hq, hq.batch("s1", "k1", "kiosk", [steal]), steal, f"may not touch member {store2_member}")


# -- the offline double spend ------------------------------------------------------------------------
def test_the_same_balance_spent_on_two_offline_kiosks_is_applied_as_a_debt(any_hq, kiosk, tmp_path):
    hq = any_hq
    kiosk.topup("A", 10_000, operator="admin", at="2026-11-02T10:00")
    other = Ledger.create(tmp_path / "k2.db", kiosk_id="k2", store_id="s1", rules_text=FULL, at="2026-01-01T08:00",
                          pii_key=pii.load_or_make(os.environ["KIOSK_HQ_KEY"]))
    for record in kiosk.journal():
        other.ingest(record)
    for k in (kiosk, other):               # both offline: each sees 100.00 and spends 80.00 of it
        k.purchase("A", lines_from_amount(8_000), pay="stored-value", operator="admin", at=DAY)
    first = send(hq, kiosk, kiosk.journal())
    second = send(hq, other, other.journal(), "k2")
    assert first.corrections == [] and second.applied == len(other.journal())    # its stock count and the purchase
    other.close()
    assert [c["kind"] for c in second.corrections] == ["overdraft"]
    assert [a["kind"] for a in second.alerts] == ["overdraft"]
    assert balances(hq, kiosk.journal()[-1]["member_id"])[0] == 10_000 - 2 * 8_000


def test_a_bad_policy_file_stops_the_hub_with_one_line(tmp_path, capsys):
    from sync.hq.cli import main
    policy = tmp_path / "policy.toml"
    policy.write_text("[adjust_points]\nmanager = -5\n")
    code = main(["run", "--db", f"sqlite:///{tmp_path / 'hq.db'}", "--broker", "mqtt://127.0.0.1:1",
                 "--signing-key", str(tmp_path / "none.pem"), "--policy", str(policy)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "adjust_points.manager" in err


def test_a_record_filed_under_another_member_than_its_card_is_rejected(hq, honest, store2_member):
    records, checkin = honest
    record = forge(records, checkin, lambda r: r.update(member_id=store2_member))
    rejected(hq, hq.batch("s1", "k1", "kiosk", [record]), record, f"record of {store2_member}: 1 vs 0")


AMOUNTS = ("points", "principal", "bonus", "delta", "amount", "uses", "fen", "payable_fen", "sv_principal_fen",
           "sv_bonus_fen", "points_earned", "points_cash", "bonus_fen", "set")


def test_every_amount_of_every_honest_record_changed_by_one_is_rejected(hq, kiosk):
    """Record by record: each amount in each effect one more than the kiosk computed is refused before
    the honest record is applied (re-derivation is checked in a transaction rolled back)."""
    from sync.hq.rederive import REPLAYED, Rejected
    every_kind(kiosk)
    tried, accepted = 0, []
    for record in kiosk.journal():
        for i, effect in enumerate(record["effects"]):
            for field in AMOUNTS:
                if not isinstance(effect.get(field), int) or record["inputs"].get("call") not in REPLAYED:
                    continue
                forged = copy.deepcopy(record)
                forged["effects"][i][field] += 1
                hq.conn.execute("BEGIN")
                hq.conn.execute("SAVEPOINT sp_record")
                try:
                    hq.verifier.check(forged, "sp_record")
                    accepted.append(f"{record['kind']}: {field} of {effect}")
                except Rejected:
                    tried += 1
                finally:
                    hq.conn.execute("ROLLBACK")
        assert send(hq, kiosk, [record]).corrections == []
    assert accepted == [] and tried > 50


def test_a_credit_to_another_stores_member_who_never_tapped_here_is_refused(hq, kiosk, tmp_path):
    """The feed gives a kiosk only its store's members and those looked up there, so a top-up of a
    member it could not hold is forged (or made by software that took the member from elsewhere)."""
    other = Ledger.create(tmp_path / "k9.db", kiosk_id="k9", store_id="s2", rules_text=FULL, at="2026-01-01T08:00",
                          pii_key=pii.load_or_make(os.environ["KIOSK_HQ_KEY"]))
    member = other.register(name="Z", phone="13800000009", card_id="Z", operator="admin",
                            at="2026-11-01T09:00")["member_id"]
    send(hq, other, other.journal(), "k9", "s2")
    for record in other.journal():                 # what tampered software would have to do to hold Z
        kiosk.ingest(record)
    other.close()
    kiosk.topup("Z", 10_000, operator="admin", at=DAY)
    out = send(hq, kiosk, kiosk.journal())
    [correction] = out.corrections
    assert correction["kind"] == "rejected" and "not its member and never tapped there" in correction["detail"]["reason"]
    feedscope.remember(hq.db, "s1", member, "k1", DAY)      # Z taps at k1 and is looked up: now s1's too
    kiosk.topup("Z", 10_000, operator="admin", at=LATER)
    out = send(hq, kiosk, kiosk.journal()[-1:])
    assert (out.applied, out.corrections, out.alerts) == (1, [], [])


def test_a_record_is_re_derived_with_the_rules_it_was_priced_with(hq, kiosk):
    """The kiosk was offline while head office published new rules: its check-in still earns the old 5
    points, and the same effects under the new rules' hash are refused."""
    newer = FULL.replace("checkin = 5 ", "checkin = 50 ")
    Retained(hq.db).set_rules(newer)
    kiosk.checkin("A", at=DAY)
    records = kiosk.journal()
    assert send(hq, kiosk, records[:-1] + [records[-1]]).corrections == []
    from kiosk.ledger import load_rules
    kiosk.checkin("B", at=DAY)
    later = kiosk.journal()[-1]
    relabelled = forge(records, later, lambda r: r["inputs"].update(rules=load_rules(newer).digest))
    rejected(hq, hq.batch("s1", "k1", "kiosk", [relabelled]), relabelled, "points+")


def test_rules_replaced_longer_ago_than_the_offline_window_are_refused(hq, kiosk):
    from kiosk.ledger.clock import FixedClock
    Retained(hq.db, FixedClock("2026-11-25T00:00:00Z")).set_rules(FULL.replace("checkin = 5 ", "checkin = 50 "))
    kiosk.checkin("A", at="2026-11-25T20:00")        # priced with the replaced rules, within 24 hours: applied
    kiosk.checkin("B", at="2026-11-27T10:00")        # two days later: refused
    records = kiosk.journal()
    out = send(hq, kiosk, records)
    assert [c["tx_id"] for c in out.corrections] == [records[-1]["tx_id"]]
    assert "longer than a kiosk may stay offline" in out.corrections[0]["detail"]["reason"]
