"""`verify` finds any edit, deletion, insertion or reordering of journal rows, even when the balance
tables are edited to match, and names the first bad sequence number. Hundreds of random
tamperings of copies of one real ledger, every one detected."""
import json
import random
import shutil
import sqlite3
import subprocess
import sys

import pytest

from kiosk.ledger import Ledger, lines_from_amount, verify

ROUNDS = 300


@pytest.fixture(scope="module")
def real_ledger(tmp_path_factory):
    """A ledger with a few dozen transactions of every common kind."""
    path = tmp_path_factory.mktemp("real") / "ledger.db"
    led = Ledger.create(path, kiosk_id="k1", store_id="s1", at="2026-01-01T08:00")
    for n in range(1, 5):
        led.register(name=f"Member {n}", phone=f"1380000000{n}", card_id=f"C{n}", operator="admin",
                     at=f"2026-01-0{n}T09:00")
    for day in range(2, 9):
        for n in range(1, 5):
            led.purchase(f"C{n}", lines_from_amount(1000 * n + day), operator="admin", at=f"2026-02-0{day}T10:0{n}")
        led.checkin(f"C{day % 4 + 1}", at=f"2026-02-0{day}T12:00")
    led.topup("C1", 50000, operator="admin", at="2026-02-10T10:00")
    led.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    led.close()
    return path


def edit_record(conn, seq):
    (text,) = conn.execute("SELECT record FROM journal WHERE kiosk_id = 'k1' AND seq = ?", (seq,)).fetchone()
    record = json.loads(text)
    for effect in record["effects"]:                       # e.g. more points, more stored value
        for key in ("points", "principal", "bonus", "amount"):
            if isinstance(effect.get(key), int):
                effect[key] += 100
    record["reason"] = (record["reason"] or "") + " "
    conn.execute("UPDATE journal SET record = ? WHERE kiosk_id = 'k1' AND seq = ?", (json.dumps(record), seq))
    conn.execute("UPDATE lots SET points = points + 100, remaining = remaining + 100")  # balances "to match"
    return seq


def delete_row(conn, seq):
    tx = conn.execute("SELECT tx_id FROM journal WHERE kiosk_id = 'k1' AND seq = ?", (seq,)).fetchone()[0]
    conn.execute("DELETE FROM outbox WHERE tx_id = ?", (tx,))
    conn.execute("DELETE FROM journal WHERE tx_id = ?", (tx,))
    conn.execute("UPDATE journal SET seq = seq - 1 WHERE kiosk_id = 'k1' AND seq > ?", (seq,))
    return seq


def swap_rows(conn, seq):
    a, b = (conn.execute("SELECT rowid, record, hash FROM journal WHERE kiosk_id = 'k1' AND seq = ?", (s,)).fetchone()
            for s in (seq, seq + 1))
    for (rowid, _, _), (_, text, link) in ((a, b), (b, a)):
        conn.execute("UPDATE journal SET record = ?, hash = ? WHERE rowid = ?", (text, link, rowid))
    return seq


def insert_row(conn, seq):
    (text,) = conn.execute("SELECT record FROM journal WHERE kiosk_id = 'k1' AND seq = ?", (seq,)).fetchone()
    forged = {**json.loads(text), "tx_id": "00000000-0000-4000-8000-000000000001"}
    conn.execute("UPDATE journal SET seq = -seq WHERE kiosk_id = 'k1' AND seq >= ?", (seq,))
    conn.execute("UPDATE journal SET seq = 1 - seq WHERE kiosk_id = 'k1' AND seq < 0")
    conn.execute("INSERT INTO journal (tx_id, kiosk_id, seq, kind, at, operator, record) VALUES (?, 'k1', ?, ?, ?, ?, ?)",
                 (forged["tx_id"], seq, forged["kind"], forged["at"], forged["operator"], json.dumps(forged)))
    return seq


def edit_hash(conn, seq):
    conn.execute("UPDATE journal SET hash = ? WHERE kiosk_id = 'k1' AND seq = ?", ("f" * 64, seq))
    return seq


TAMPERINGS = [edit_record, delete_row, swap_rows, insert_row, edit_hash]


def test_every_random_tampering_is_found_at_its_sequence_number(real_ledger, tmp_path):
    assert verify(sqlite3.connect(real_ledger)) == []
    (last,) = sqlite3.connect(real_ledger).execute("SELECT MAX(seq) FROM journal").fetchone()
    rng = random.Random(20261201)
    for round_ in range(ROUNDS):
        copy = tmp_path / f"copy{round_ % 4}.db"
        shutil.copyfile(real_ledger, copy)
        tamper = rng.choice(TAMPERINGS)
        conn = sqlite3.connect(copy, isolation_level=None)
        seq = tamper(conn, rng.randrange(1, last - 1))          # not the newest row: see test below
        problems = [p for p in verify(conn) if "chain broken" in p]
        conn.close()
        assert problems, (tamper.__name__, seq)
        assert f"chain broken at seq {seq}:" in problems[0], (tamper.__name__, seq, problems)


def test_kioskctl_verify_names_the_first_bad_sequence_number(real_ledger, tmp_path):
    copy = tmp_path / "copy.db"
    shutil.copyfile(real_ledger, copy)
    shutil.copy2(f"{real_ledger}.key", f"{copy}.key")        # its personal-data key goes with it
    with sqlite3.connect(copy) as conn:
        edit_record(conn, 7)
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--db", str(copy), "--json", "verify"],
                          capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    assert "journal of k1: chain broken at seq 7" in proc.stdout + proc.stderr
