"""``kioskctl status`` and ``kioskctl logs``: what a technician checks first, and what support asks for.

Everything is read, nothing is changed. Each part reports what it could not read instead of
failing: a kiosk with a dead sync agent or no systemd (a development machine) still answers.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import time
from pathlib import Path

from .. import version
from ..ledger import guard
from ..ledger.clock import from_env as clock_from_env
from .base import EXIT_USAGE, CtlError, standalone

UNITS = ("kiosk.service", "kiosk-sync.service", "kiosk-firstboot.service")
SYSFS = Path(os.environ.get("KIOSK_SYSFS", "/sys"))   # tests point this at a fake tree
SECTOR = 512


def add_parsers(top, sub) -> None:
    sub(top, "status", "services, last sync, backlog, version, disk and SD card wear, clock sync", "status")
    sp = sub(top, "logs", "bundle the journal and diagnostics into one file for support", "logs")
    sp.add_argument("--since", default="24 hours ago", help="journal start, as journalctl takes it (default 24 hours ago)")
    sp.add_argument("--out", required=True, help="the .tar.gz to write (refuses to overwrite)")


def _systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def services() -> dict:
    if not _systemd_running():
        return {unit: {"state": "unknown", "why": "systemd is not running here"} for unit in UNITS}
    out = {}
    for unit in UNITS:
        proc = subprocess.run(["systemctl", "show", unit, "--property=ActiveState,SubState,NRestarts,"
                               "ActiveEnterTimestamp,Result"], capture_output=True, text=True)
        props = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
        out[unit] = {"state": props.get("ActiveState", "unknown"), "sub": props.get("SubState"),
                     "restarts": int(props.get("NRestarts") or 0), "since": props.get("ActiveEnterTimestamp"),
                     "result": props.get("Result")}
    return out


def ledger_status(db: Path, kiosk_id: str) -> dict:
    """Transactions, the backlog head office has not confirmed, and the last contact, read-only."""
    if not db.exists():
        return {"present": False, "path": str(db)}
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        (count, last) = conn.execute("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM journal WHERE kiosk_id = ?",
                                     (kiosk_id,)).fetchone()
        (backlog, oldest) = conn.execute("SELECT COUNT(*), MIN(j.at) FROM outbox o JOIN journal j ON j.tx_id = o.tx_id"
                                         " WHERE o.confirmed_at IS NULL").fetchone()
        contact = guard.last_contact(conn)
    except sqlite3.DatabaseError as exc:
        return {"present": True, "path": str(db), "error": str(exc)}
    finally:
        conn.close()
    return {"present": True, "path": str(db), "bytes": db.stat().st_size, "transactions": count, "last_seq": last,
            "backlog": backlog, "oldest_unconfirmed_at": oldest, "last_hq_contact": contact}


def disk(path: Path) -> dict:
    usage = shutil.disk_usage(path)
    return {"path": str(path), "total_bytes": usage.total, "free_bytes": usage.free,
            "used_percent": round(100 * (usage.total - usage.free) / usage.total, 1) if usage.total else None}


def storage_wear(path: Path, sysfs: Path = SYSFS) -> dict:
    """The block device under *path*: bytes written since boot, and wear where the card reports it.

    eMMC reports ``life_time`` (two estimates, 0x01 = 0-10 % used ... 0x0b = beyond its life) and
    ``pre_eol_info``; ordinary SD cards report nothing of the kind to Linux, which is said so.
    """
    st = path.stat()
    dev = sysfs / "dev" / "block" / f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}"
    if not dev.exists():
        return {"readable": False, "why": f"no block device for {path} in {sysfs} (a container or tmpfs)"}
    node = dev.resolve()
    disk_dir = node if (node / "device").exists() else node.parent
    out = {"readable": True, "device": disk_dir.name}
    stat = (node / "stat").read_text().split() if (node / "stat").exists() else []
    if len(stat) >= 7:
        out["written_since_boot_bytes"] = int(stat[6]) * SECTOR
    for name in ("name", "type", "life_time", "pre_eol_info", "date"):
        f = disk_dir / "device" / name
        if f.exists():
            out[name] = f.read_text().strip()
    if "life_time" not in out:
        out["wear"] = "not reported by this card (SD cards do not expose wear to Linux; eMMC does)"
    return out


def clock_sync() -> dict:
    now = clock_from_env().now().isoformat(timespec="seconds")
    if _systemd_running() and shutil.which("timedatectl"):
        proc = subprocess.run(["timedatectl", "show", "--property=NTPSynchronized,NTP"], capture_output=True, text=True)
        props = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
        return {"now_utc": now, "synchronized": props.get("NTPSynchronized") == "yes", "ntp": props.get("NTP") == "yes"}
    marker = Path("/run/systemd/timesync/synchronized")
    return {"now_utc": now, "synchronized": marker.exists(), "ntp": None,
            "why": "no timedatectl here; read systemd-timesyncd's marker file"}


@standalone("status")
def status(args, cfg) -> dict:
    db = Path(args.db or cfg.get("kiosk", "db"))
    where = db.parent if db.parent.exists() else Path("/")
    return {"version": version(), "kiosk_id": cfg.get("kiosk", "id"), "store_id": cfg.get("kiosk", "store_id"),
            "services": services(), "ledger": ledger_status(db, cfg.get("kiosk", "id")), "disk": disk(where),
            "storage": storage_wear(where), "clock": clock_sync()}


def _journal(since: str) -> bytes:
    if shutil.which("journalctl") is None:
        return b"journalctl is not installed here\n"
    units = [arg for unit in UNITS for arg in ("-u", unit)]
    proc = subprocess.run(["journalctl", "--no-pager", "-o", "short-iso-precise", "--since", since, *units],
                          capture_output=True)
    if proc.returncode != 0 and b"Failed to parse" in proc.stderr:
        raise CtlError(f"--since {since!r}: journalctl cannot parse it (try '2 hours ago' or "
                       "'2026-12-01 08:00')", "usage", EXIT_USAGE)
    return proc.stdout + proc.stderr


@standalone("logs")
def logs(args, cfg) -> dict:
    """One .tar.gz: the services' journal, status, the redacted config. Never the ledger, never a secret."""
    out = Path(args.out)
    if out.exists():
        raise CtlError(f"{out} exists: choose a new file name", "exists", EXIT_USAGE)
    parts = {"journal.txt": _journal(args.since),
             "status.json": json.dumps(status(args, cfg), ensure_ascii=False, indent=2).encode(),
             "config.json": json.dumps(cfg.redacted(), ensure_ascii=False, indent=2).encode()}
    partial = out.with_name(out.name + ".partial")
    with tarfile.open(partial, "w:gz") as tar:
        for name, data in parts.items():
            info = tarfile.TarInfo(f"kiosk-logs/{name}")
            info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
            tar.addfile(info, io.BytesIO(data))
    os.chmod(partial, 0o600)
    os.replace(partial, out)
    return {"bundle": str(out), "bytes": out.stat().st_size, "files": sorted(parts), "since": args.since}
