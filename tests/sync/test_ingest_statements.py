"""What ingest can do per batch it does per batch (issue 15): each statement is a round trip to
PostgreSQL. Counted, never timed."""
from __future__ import annotations

from collections import Counter

import pytest

from kiosk.ledger import REFERENCE_RULES, Ledger, lines_from_amount, pii
from kiosk.ledger.journal import seal
from sync.hq.db import Db
from sync.hq.ingest import Ingest
from sync.hq.retained import Retained


class Counting:
    """The hub's connection, counting the statements sent through it."""

    def __init__(self, conn):
        self.conn, self.sent = conn, Counter()

    def execute(self, sql, params=()):
        self.sent[sql] += 1
        return self.conn.execute(sql, params)

    def starting(self, words: str) -> int:
        return sum(n for sql, n in self.sent.items() if sql.startswith(words))

    def containing(self, words: str) -> int:
        return sum(n for sql, n in self.sent.items() if words in sql)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def hub_and_journal(tmp_path, chain_key_file, members: int):
    kiosk = Ledger.create(tmp_path / "k1.db", kiosk_id="k1", store_id="s1", rules_text=REFERENCE_RULES.read_text(),
                          at="2026-01-01T08:00", pii_key=pii.load_or_make(chain_key_file))
    for i in range(members):
        kiosk.register(name=f"M{i}", phone=f"1380000{i:04d}", card_id=f"C{i}", operator="admin", at="2026-11-01T09:00")
        kiosk.purchase(f"C{i}", lines_from_amount(3000), operator="admin", at="2026-11-01T10:00")
    db = Db(f"sqlite:///{tmp_path / 'hq.db'}")
    Retained(db).set_rules(REFERENCE_RULES.read_text())
    ingest = Ingest(db)
    counting = db.conn = ingest.conn = ingest.verifier.conn = ingest.verifier.rulebook.conn = Counting(db.conn)
    return ingest, counting, kiosk.journal(), kiosk


def test_a_resend_costs_the_same_statements_whatever_its_size(tmp_path, chain_key_file):
    ingest, counting, records, kiosk = hub_and_journal(tmp_path, chain_key_file, 10)
    ingest.batch("s1", "k1", "kiosk", records, pii.keys_for(kiosk.conn, records))
    sent = []
    for size in (2, len(records)):
        counting.sent.clear()
        out = ingest.batch("s1", "k1", "kiosk", records[:size], pii.keys_for(kiosk.conn, records[:size]))
        assert out.duplicates == size and out.alerts == []
        sent.append(sum(counting.sent.values()))
    assert sent[0] == sent[1]
    ingest.db.close()


def test_a_batch_checks_the_chain_and_logs_the_feed_once_not_once_a_record(tmp_path, chain_key_file):
    ingest, counting, records, kiosk = hub_and_journal(tmp_path, chain_key_file, 5)
    late, early = records[4:], records[:4]
    assert ingest.batch("s1", "k1", "kiosk", late, pii.keys_for(kiosk.conn, late)).held == len(late)  # beyond a gap
    counting.sent.clear()
    out = ingest.batch("s1", "k1", "kiosk", early, pii.keys_for(kiosk.conn, early))        # fills it
    assert out.applied == len(records) and out.held == 0
    assert counting.starting("SELECT tx_id, kiosk_id, seq FROM journal") == 1     # "journaled before?"
    assert counting.starting("INSERT INTO hq_log") == 1
    assert counting.starting("SELECT seq, record FROM hq_parked") == 1          # read once
    assert counting.starting("DELETE FROM hq_parked") == 1
    assert ingest.conn.execute("SELECT COUNT(*) FROM hq_log WHERE hq_seq IS NOT NULL").fetchone()[0] == len(records)
    ingest.db.close()


def test_a_record_re_derived_to_its_very_effects_writes_them_once(tmp_path, chain_key_file):
    """The replay's writes are kept when they are the record's (rederive.py): nothing is rolled back and
    written again, the replay journals nothing, the rules' publication is read once a batch and a card's
    member comes with their data key in one read."""
    ingest, counting, records, kiosk = hub_and_journal(tmp_path, chain_key_file, 5)
    out = ingest.batch("s1", "k1", "kiosk", records, pii.keys_for(kiosk.conn, records))
    assert out.applied == len(records) and out.corrections == []
    assert counting.starting("INSERT INTO purchases") == sum(r["kind"] == "purchase" for r in records) == 5
    assert counting.starting("INSERT INTO journal ") == len(records)
    assert counting.starting("INSERT INTO outbox") == counting.starting("SAVEPOINT") == 0    # nothing to roll back
    assert counting.containing("FROM hq_rules WHERE published_at >") == 1
    assert counting.starting("SELECT data_key, erased FROM member_keys") == 0
    ingest.db.close()


def test_held_rows_go_in_one_statement_before_anything_reads_their_table(pg_url):
    """A table's held rows go as one INSERT before a statement that names it; at the end, every
    table's rows go in one statement."""
    db = Db(pg_url)
    db.conn.execute("CREATE TABLE t (n BIGINT NOT NULL)")
    insert = "INSERT INTO t (n) VALUES (?)"
    db.conn.execute("CREATE TABLE u (n BIGINT NOT NULL)")
    other = "INSERT INTO u (n) VALUES (?)"
    sent = db.conn.pg = Counting(db.conn.pg)
    with db.held({"t": ("t",), "u": ("u",)}):
        for n in range(3):
            db.conn.execute(insert, (n,))
            db.conn.execute(other, (n,))
        assert sum(sent.sent.values()) == 0
        # not held (its result may matter), and it names t: t's rows are sent first, together; u's wait
        db.conn.execute("INSERT INTO t (n) VALUES (?) ON CONFLICT DO NOTHING", (9,))
        assert (sent.starting("INSERT INTO t"), sent.starting("INSERT INTO u")) == (2, 0)
        assert db.conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 4
        db.conn.execute(insert, (3,))
        before_end = sum(sent.sent.values())
    assert sum(sent.sent.values()) == before_end + 1        # at the end, what is left of both: one statement
    assert sent.starting("WITH w0 AS (INSERT INTO t (n) VALUES ($1)), w1 AS (INSERT INTO u (n) VALUES ($2), ") == 1
    assert db.conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 5
    assert db.conn.execute("SELECT COUNT(*) FROM u").fetchone()[0] == 3
    with pytest.raises(ZeroDivisionError), db.held({"t": ("t",)}):
        db.conn.execute(insert, (4,))
        raise ZeroDivisionError
    assert db.conn.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 5         # dropped with the block
    db.close()


def test_a_journal_row_postgresql_refuses_is_refused_alone(pg_url, tmp_path, chain_key_file):
    """The batch's journal rows go in one INSERT; when PostgreSQL refuses it (here a NUL in a reason, which
    its text cannot hold), the batch runs again with a savepoint per record and only that record is
    refused, as when each row went alone."""
    ingest, _, records, kiosk = hub_and_journal(tmp_path, chain_key_file, 3)
    ingest.db.close()
    db = Db(pg_url)
    Retained(db).set_rules(REFERENCE_RULES.read_text())
    ingest = Ingest(db)
    bad = [i for i, r in enumerate(records) if r["kind"] == "purchase"][1]     # records of others follow
    records[bad]["reason"] = "\x00"
    for i in range(bad, len(records)):
        seal(records[i], records[i - 1]["hash"])
    sent = db.conn.pg = Counting(db.conn.pg)
    out = ingest.batch("s1", "k1", "kiosk", records, pii.keys_for(kiosk.conn, records))
    assert [(c["seq"], c["kind"]) for c in out.corrections] == [(records[bad]["seq"], "rejected")]
    assert "NUL" in out.corrections[0]["detail"]["error"]
    assert out.applied == len(records) - 1 and out.hwm == records[-1]["seq"]
    assert sent.starting("SAVEPOINT") == len(records)        # the second run
    clean = ingest.batch("s1", "k1", "kiosk", records, {})
    assert clean.duplicates == len(records)
    db.close()


def test_a_clean_batch_journals_its_records_in_one_statement_on_postgresql(pg_url, tmp_path, chain_key_file):
    ingest, _, records, kiosk = hub_and_journal(tmp_path, chain_key_file, 3)
    ingest.db.close()
    db = Db(pg_url)
    Retained(db).set_rules(REFERENCE_RULES.read_text())
    sent = db.conn.pg = Counting(db.conn.pg)
    out = Ingest(db).batch("s1", "k1", "kiosk", records, pii.keys_for(kiosk.conn, records))
    assert out.applied == len(records) and out.corrections == []
    assert sent.containing("INSERT INTO journal ") == 1 and sent.starting("SAVEPOINT") == 0
    assert [t for (t,) in db.conn.execute("SELECT tx_id FROM journal ORDER BY seq")] == [r["tx_id"] for r in records]
    db.close()


def test_a_batchs_data_keys_are_stored_with_one_statement(tmp_path, chain_key_file):
    ingest, counting, records, kiosk = hub_and_journal(tmp_path, chain_key_file, 5)
    keys = pii.keys_for(kiosk.conn, records)
    assert len(keys) == 5
    out = ingest.batch("s1", "k1", "kiosk", records, keys)
    assert out.applied == len(records)
    assert counting.starting("INSERT INTO member_keys (member_id, data_key)") == 1
    assert counting.starting("SELECT member_id, phone FROM members WHERE member_id IN") == 1
    held = {m: k for m, k in ingest.conn.execute("SELECT member_id, data_key FROM member_keys")}
    assert {m: held[m] for m in keys} == keys
    ingest.db.close()


def test_placeholders_are_numbered_once_and_sent_as_they_are(pg_url):
    """psycopg parsed again, at every execute, each statement of more than 50 parameters (a batch's held
    rows, its IN lists); the hub numbers a text's ``?`` once and its cursors send it raw."""
    db = Db(pg_url)
    try:
        assert db.conn._translated("SELECT ?, '%', ?") == "SELECT $1, '%', $2"
        wanted = list(range(0, 240, 2))
        (found,) = db.conn.execute(f"SELECT COUNT(*) FROM generate_series(0, 300) AS g WHERE g IN"
                                   f" ({', '.join('?' * len(wanted))})", wanted).fetchone()
        assert found == len(wanted)
        assert db.conn.execute("SELECT ? LIKE 'sch%', ?", ("schema", 7)).fetchone() == (True, 7)
    finally:
        db.close()
