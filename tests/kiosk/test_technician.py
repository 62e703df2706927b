"""kioskctl status / backup / restore / logs, through kioskctl's own main() on real SQLite files."""
import json
import sqlite3
import tarfile

import pytest

from kiosk import cli, version
from kiosk.ledger import Ledger
from sync.local import SyncState

AT = "2026-11-04T10:00:00+08:00"   # a Wednesday in Shanghai: the rules double points, the figures below include it


@pytest.fixture
def kiosk(tmp_path, capsys):
    """kioskctl for one kiosk: ``kiosk(KIOSK_ID)(*args) -> (status, parsed JSON)``."""
    def for_kiosk(kiosk_id, db=tmp_path / "ledger.db"):
        cfg = tmp_path / f"{kiosk_id}.toml"
        cfg.write_text(f'[kiosk]\nid = "{kiosk_id}"\nstore_id = "store-01"\ndb = "{db}"\n'
                       '[sync]\nkey = "never-printed-secret"\n')

        def run(*args):
            capsys.readouterr()
            status = cli.main(["--config", str(cfg), "--json", *args])
            out = capsys.readouterr().out
            return status, (json.loads(out) if out.strip() else None)
        return run
    return for_kiosk


def _trade(ctl, card, n):
    ctl("member", "add", "--name", "张三", "--phone", "13800138000", "--card", card, "--at", AT)
    for _ in range(n):
        assert ctl("tx", "earn", "--card", card, "--amount", "10.00", "--at", AT)[0] == 0


def _confirm(db, hwm):
    led = Ledger(db)
    SyncState(led.conn).apply_ack({"hwm": hwm, "corrections": [], "balances": []})
    led.close()


def test_status_reports_version_backlog_and_what_it_cannot_read(kiosk, tmp_path):
    k1 = kiosk("kiosk-01")
    assert k1("init")[0] == 0
    _trade(k1, "C1", 3)          # seq 1 stock, 2 member, 3..5 earnings
    _confirm(tmp_path / "ledger.db", 2)
    status, report = k1("status")
    assert status == 0 and report["version"] == version() != "unknown"
    assert report["ledger"]["transactions"] == 5 and report["ledger"]["backlog"] == 3
    assert report["ledger"]["last_hq_contact"]
    assert set(report["services"]) >= {"kiosk.service", "kiosk-sync.service"}
    assert report["disk"]["free_bytes"] > 0 and "readable" in report["storage"] and "synchronized" in report["clock"]


def test_backup_is_a_verified_copy_and_never_overwrites(kiosk, tmp_path):
    k1 = kiosk("kiosk-01")
    k1("init")
    _trade(k1, "C1", 2)
    status, made = k1("backup", "--out", str(tmp_path / "b.db"))
    assert status == 0 and made["kiosks"] == {"kiosk-01": 4} and made["unconfirmed"] == 4
    assert (tmp_path / "b.db").stat().st_mode & 0o077 == 0
    conn = sqlite3.connect(tmp_path / "b.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    before = (tmp_path / "b.db").read_bytes()
    assert k1("backup", "--out", str(tmp_path / "b.db")) == (2, {"error": f"{tmp_path / 'b.db'} exists: choose a "
                                                                  "new file name", "code": "exists"})
    assert (tmp_path / "b.db").read_bytes() == before


def test_restore_on_a_replacement_kiosk_repeats_nothing_head_office_has(kiosk, tmp_path):
    old = kiosk("kiosk-01", tmp_path / "old.db")
    old("init")
    _trade(old, "C1", 3)                     # kiosk-01 seq 1..5
    _confirm(tmp_path / "old.db", 3)         # head office has 1..3
    old("backup", "--out", str(tmp_path / "b.db"))

    assert old("restore", "--from", str(tmp_path / "b.db"))[1]["code"] == "same_kiosk_id"   # ids never reused

    new = kiosk("kiosk-02", tmp_path / "new.db")
    new("init", "--pii-key", str(tmp_path / "old.db.key"))   # first boot: the chain key; seq 1, already sent
    _confirm(tmp_path / "new.db", 1)
    status, result = new("restore", "--from", str(tmp_path / "b.db"))
    assert status == 0, result
    assert result["replayed_own"] == 1 and result["from_kiosks"] == {"kiosk-01": 5}
    assert result["not_confirmed_at_backup"] == [{"kiosk_id": "kiosk-01", "from_seq": 4, "to_seq": 5, "count": 2}]
    assert (tmp_path / "new.db.before-restore").exists()

    show = new("show", "--card", "C1", "--at", AT)[1]
    assert show["points"] == 3 * 20          # the member and her points came along (Wednesday: double)
    assert new("tx", "earn", "--card", "C1", "--amount", "10.00", "--at", AT)[0] == 0
    conn = sqlite3.connect(tmp_path / "new.db")
    outbox = conn.execute("SELECT o.seq, j.kiosk_id, o.confirmed_at IS NOT NULL FROM outbox o"
                          " JOIN journal j ON j.tx_id = o.tx_id ORDER BY o.seq").fetchall()
    assert outbox == [(1, "kiosk-02", 1), (2, "kiosk-02", 0)]     # nothing of kiosk-01 will be sent again
    assert new("verify")[0] == 0


def test_restore_refuses_a_file_that_is_not_a_ledger_and_changes_nothing(kiosk, tmp_path):
    k2 = kiosk("kiosk-02")
    k2("init")
    before = (tmp_path / "ledger.db").read_bytes()
    (tmp_path / "junk.db").write_bytes(b"not sqlite" * 100)
    status, error = k2("restore", "--from", str(tmp_path / "junk.db"))
    assert status == 2 and error["code"] == "bad_backup"
    assert (tmp_path / "ledger.db").read_bytes() == before and not (tmp_path / "ledger.db.before-restore").exists()


def test_logs_bundle_has_journal_status_and_config_without_secrets(kiosk, tmp_path):
    k1 = kiosk("kiosk-01")
    status, made = k1("logs", "--since", "1 hour ago", "--out", str(tmp_path / "logs.tar.gz"))
    assert status == 0 and made["files"] == ["config.json", "journal.txt", "status.json"]
    with tarfile.open(tmp_path / "logs.tar.gz") as tar:
        texts = {m.name: tar.extractfile(m).read().decode() for m in tar.getmembers()}
    assert "never-printed-secret" not in "".join(texts.values())
    assert json.loads(texts["kiosk-logs/status.json"])["kiosk_id"] == "kiosk-01"
