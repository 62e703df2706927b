"""``kioskctl backup`` and ``kioskctl restore``: a consistent online copy, and moving it to a replacement kiosk.

A kiosk's sequence numbers are its identity at head office, so a backup is never restored under
an id that already has transactions in it: a replacement kiosk gets a new id (docs/technician.md).
Restoring then keeps everything the old kiosk knew (members, balances, rules, staff, stock, its
journal) but none of its outbox: what head office confirmed it has; what it had not confirmed when
the backup was taken cannot be sent by the new kiosk under the old kiosk's certificate and must
not be sent again as new transactions, so it is reported (head office's ``kiosk-hq gaps`` shows
whether the old kiosk delivered it). Transactions the new kiosk has already made (first boot's
initialisation) are replayed on top with their own sequence numbers, so head office sees the new
kiosk's sequence continue without a gap or a repeat.
"""
from __future__ import annotations

import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from sync.local import SyncState

from ..ledger import Ledger, pii, verify
from ..ledger.core import connect
from .base import EXIT_USAGE, CtlError, standalone

SYNC_KEYS_OF_THE_OLD_KIOSK = ("confirmed", "last_hq_contact")


def add_parsers(top, sub) -> None:
    sp = sub(top, "backup", "write a consistent copy of the ledger (safe while the services run)", "backup")
    sp.add_argument("--out", required=True, help="the backup file to create (refuses to overwrite)")
    sp = sub(top, "restore", "restore a backup onto a replacement kiosk (stop kiosk and kiosk-sync first)",
             "restore")
    sp.add_argument("--from", dest="source", required=True, help="a file made by `kioskctl backup`")


def _db(args, cfg) -> Path:
    return Path(args.db or cfg.get("kiosk", "db"))


def _copy(source: sqlite3.Connection, target: Path) -> None:
    """SQLite's online backup into a new file, durable before it gets its name."""
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    dest = sqlite3.connect(partial)
    try:
        source.backup(dest)
        dest.execute("PRAGMA journal_mode = DELETE")
    finally:
        dest.close()
    with open(partial, "rb") as f:
        os.fsync(f.fileno())
    os.replace(partial, target)


def _kiosks(conn: sqlite3.Connection) -> dict[str, int]:
    return dict(conn.execute("SELECT kiosk_id, MAX(seq) FROM journal GROUP BY kiosk_id"))


@standalone("backup")
def backup(args, cfg) -> dict:
    db, out = _db(args, cfg), Path(args.out)
    if not db.exists():
        raise CtlError(f"no ledger at {db}", "no_ledger", EXIT_USAGE)
    if out.exists():
        raise CtlError(f"{out} exists: choose a new file name", "exists", EXIT_USAGE)
    conn = connect(db)
    try:
        _copy(conn, out)
    finally:
        conn.close()
    copy = sqlite3.connect(f"file:{out}?mode=ro", uri=True)
    try:
        (confirmed,) = copy.execute("SELECT COUNT(*) FROM outbox WHERE confirmed_at IS NOT NULL").fetchone()
        (unconfirmed,) = copy.execute("SELECT COUNT(*) FROM outbox WHERE confirmed_at IS NULL").fetchone()
        return {"backup": str(out), "bytes": out.stat().st_size, "kiosks": _kiosks(copy),
                "confirmed": confirmed, "unconfirmed": unconfirmed}
    finally:
        copy.close()


def _check_backup(path: Path, kiosk_id: str) -> sqlite3.Connection:
    if not path.is_file():
        raise CtlError(f"no backup at {path}", "no_backup", EXIT_USAGE)
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        (integrity,) = conn.execute("PRAGMA integrity_check").fetchone()
        problems = ([] if integrity == "ok" else [f"integrity_check: {integrity}"]) + verify(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise CtlError(f"{path} is not a kiosk ledger backup: {exc}", "bad_backup", EXIT_USAGE) from None
    if problems:
        conn.close()
        raise CtlError(f"{path} fails verification: {'; '.join(problems)}", "bad_backup")
    if kiosk_id in _kiosks(conn):
        conn.close()
        raise CtlError(f"the backup already holds transactions of {kiosk_id}: a replacement kiosk needs a new "
                       "kiosk id (its sequence numbers would repeat at head office)", "same_kiosk_id")
    return conn


def _old_outbox(conn: sqlite3.Connection) -> list[dict]:
    """The old kiosks' transactions head office had not confirmed when the backup was taken."""
    rows = conn.execute("SELECT j.kiosk_id, MIN(j.seq), MAX(j.seq), COUNT(*) FROM outbox o"
                        " JOIN journal j ON j.tx_id = o.tx_id WHERE o.confirmed_at IS NULL GROUP BY j.kiosk_id")
    return [{"kiosk_id": k, "from_seq": lo, "to_seq": hi, "count": n} for k, lo, hi, n in rows]


def _replay_own(current: Path, restored: Ledger) -> int:
    """Re-apply the transactions this kiosk made before the restore, keeping their outbox state."""
    conn = sqlite3.connect(f"file:{current}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT j.record, o.seq, o.confirmed_at FROM journal j JOIN outbox o ON o.tx_id = j.tx_id"
                            " WHERE j.kiosk_id = ? ORDER BY j.seq", (restored.kiosk_id,)).fetchall()
        has_sync = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sync_state'").fetchone()
        mark = has_sync and conn.execute("SELECT value FROM sync_state WHERE key = 'confirmed'").fetchone()
        confirmed = json.loads(mark[0]) if mark else 0
    finally:
        conn.close()
    for record, seq, confirmed_at in rows:
        tx = json.loads(record)
        restored.ingest(tx, strict=False)
        restored.conn.execute("INSERT INTO outbox (seq, tx_id, confirmed_at) VALUES (?, ?, ?)",
                              (seq, tx["tx_id"], confirmed_at))
    SyncState(restored.conn).put("confirmed", confirmed)
    return len(rows)


@standalone("restore")
def restore(args, cfg) -> dict:
    db, kiosk_id = _db(args, cfg), cfg.get("kiosk", "id")
    source = _check_backup(Path(args.source), kiosk_id)
    staged = db.with_name(db.name + ".restoring")
    try:
        old_kiosks, pending = _kiosks(source), _old_outbox(source)
        _copy(source, staged)
    finally:
        source.close()
    try:
        with closing(sqlite3.connect(staged)) as conn, conn:   # from here on it is this kiosk's ledger
            conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                             (("kiosk_id", kiosk_id), ("store_id", cfg.get("kiosk", "store_id"))))
        restored = Ledger(staged, kiosk_id=kiosk_id, store_id=cfg.get("kiosk", "store_id"),
                          timezone=cfg.get("kiosk", "timezone"), pii_key=_chain_key(db))
        try:
            restored.conn.execute("DELETE FROM outbox")
            SyncState(restored.conn)
            restored.conn.executemany("DELETE FROM sync_state WHERE key = ?", [(k,) for k in SYNC_KEYS_OF_THE_OLD_KIOSK])
            replayed = _replay_own(db, restored) if db.exists() else 0
            problems = verify(restored.conn)
            restored.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            restored.close()
        if problems:
            raise CtlError(f"the restored ledger fails verification: {'; '.join(problems)}", "inconsistent")
        kept = _set_aside(db)
        os.replace(staged, db)
        _same_owner_as_directory(db)
    finally:
        for leftover in (staged, *(staged.with_name(staged.name + s) for s in ("-wal", "-shm", ".partial", ".key"))):
            leftover.unlink(missing_ok=True)
    return {"restored": str(db), "kiosk_id": kiosk_id, "from_kiosks": old_kiosks, "replayed_own": replayed,
            "previous_ledger": kept, "not_confirmed_at_backup": pending}


def _chain_key(db: Path) -> bytes:
    """A backup holds no key: the replacement opens it with the chain key it was provisioned with."""
    key_file = pii.key_file_for(db)
    if not key_file.exists():
        raise CtlError(f"no personal-data key at {key_file}: provision the chain key first"
                       " (kioskctl init --pii-key FILE)", "no_key", EXIT_USAGE)
    return pii.read_key_file(key_file)


def _set_aside(db: Path) -> str | None:
    """Keep the ledger being replaced (checkpointed, one file) as ``<db>.before-restore``."""
    if not db.exists():
        return None
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    kept = db.with_name(db.name + ".before-restore")
    os.replace(db, kept)
    for suffix in ("-wal", "-shm"):
        db.with_name(db.name + suffix).unlink(missing_ok=True)
    return str(kept)


def _same_owner_as_directory(db: Path) -> None:
    """Run as root, the restored file would be root's; the services run as the directory's owner."""
    if os.geteuid() == 0:
        st = db.parent.stat()
        os.chown(db, st.st_uid, st.st_gid)
