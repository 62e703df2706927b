"""``kiosk-firstboot``: take what ``kioskctl provision`` left on the boot partition and make it this kiosk's.

Runs once, as root, before kiosk.service and kiosk-sync.service (kiosk-firstboot.service):
validates the files again (not their dates: a Raspberry Pi has no clock until NTP answers),
moves them into /etc/kiosk (0600, owned by the user the units run as), puts the Wi-Fi settings
where wpa_supplicant reads them, makes SSH host keys if the image has none, initialises the
ledger with the kiosk's ids, overwrites and deletes every file it took from the FAT partition and
checks that none is left, then writes its marker. With the marker present it does nothing. A run
cut short is safe to repeat: every step is idempotent and the marker comes last.
"""
from __future__ import annotations

import argparse
import logging
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

from . import config as config_mod
from .ctl.base import CtlError
from .ctl.provision import BOOT_DIR, CA, CERT, CONFIG, HQ_KEY, KEY, ROLES, WIFI, check_credentials
from .ledger import Ledger, pii, schema

log = logging.getLogger("kiosk.firstboot")
MARKER = ".firstboot-done"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk-firstboot", description=__doc__.splitlines()[0])
    p.add_argument("--boot", default="/boot/firmware", help="the mounted FAT boot partition")
    p.add_argument("--etc", default="/etc/kiosk", help="where the configuration and credentials go")
    p.add_argument("--state", default="/var/lib/kiosk", help="the data partition: ledger and the done marker")
    p.add_argument("--wifi-conf", default="/etc/wpa_supplicant/wpa_supplicant-wlan0.conf")
    p.add_argument("--user", default="kiosk", help="the user the services run as (owns what is installed)")
    p.add_argument("--ssh-prefix", default="/", help="SSH host keys go to PREFIX/etc/ssh (the image: /data)")
    return p


def _install(data: bytes, target: Path, uid: int, gid: int) -> None:
    """Write 0600 via a temporary file, durable before it takes the name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chown(partial, uid, gid)
    os.replace(partial, target)


def _wipe(folder: Path) -> None:
    """Overwrite each file before deleting it (FAT keeps deleted data), then check nothing is left."""
    for path in folder.iterdir():
        size = path.stat().st_size
        with open(path, "r+b") as f:
            f.write(b"\0" * size)
            f.flush()
            os.fsync(f.fileno())
        path.unlink()
    folder.rmdir()
    fd = os.open(folder.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    left = [p.name for p in folder.parent.iterdir() if p.name.lower().startswith(BOOT_DIR)]
    if left:
        raise CtlError(f"still on the boot partition after wiping: {left}", "wipe_failed")


def run(args: argparse.Namespace) -> str:
    state, etc, source = Path(args.state), Path(args.etc), Path(args.boot) / BOOT_DIR
    if (state / MARKER).exists():
        return "already done"
    if not source.is_dir():
        raise CtlError(f"nothing provisioned: {source} is missing (run `kioskctl provision` on the image)",
                       "not_provisioned")
    files = {p.name: p.read_bytes() for p in source.iterdir()}
    missing = {CONFIG, CA, CERT, KEY} - set(files)
    if missing:
        raise CtlError(f"{source} lacks {sorted(missing)}", "not_provisioned")
    staged = etc / (CONFIG + ".check")
    _install(files[CONFIG], staged, os.getuid(), os.getgid())
    try:
        cfg = config_mod.load(None, environ={}, system_path=staged)
    finally:
        staged.unlink()
    check_credentials(files[CA], files[CERT], files[KEY], cfg.get("kiosk", "id"), at=None)
    for role, (cert_name, key_name) in ROLES.items():
        if cert_name in files:
            check_credentials(files[CA], files[cert_name], files.get(key_name, b""), f'{cfg.get("kiosk", "id")}.{role}',
                              at=None)
    user = pwd.getpwnam(args.user)
    for name in (CONFIG, CA, CERT, KEY, *(name for pair in ROLES.values() for name in pair), HQ_KEY):
        if name in files:
            _install(files[name], etc / name, user.pw_uid, user.pw_gid)
    if WIFI in files:
        _install(files[WIFI], Path(args.wifi_conf), 0, 0)
    keys = Path(args.ssh_prefix) / "etc" / "ssh"
    if Path("/etc/ssh").is_dir() and not list(keys.glob("ssh_host_*_key")) and shutil.which("ssh-keygen"):
        keys.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-A", "-f", args.ssh_prefix], check=True)   # this kiosk's own, never the image's
    state.mkdir(parents=True, exist_ok=True)
    db = Path(cfg.get("kiosk", "db")) if cfg.source("kiosk", "db") != "default" else state / "ledger.db"
    if not schema.is_ledger_file(db):
        Ledger.create(db, kiosk_id=cfg.get("kiosk", "id"), store_id=cfg.get("kiosk", "store_id"),
                      timezone=cfg.get("kiosk", "timezone"), phone_region=cfg.get("kiosk", "phone_region")).close()
    for path in (db, *(db.with_name(db.name + s) for s in ("-wal", "-shm")), pii.key_file_for(db)):
        if path.exists():
            os.chown(path, user.pw_uid, user.pw_gid)
    _wipe(source)
    _install(b"", state / MARKER, 0, 0)
    return f"kiosk {cfg.get('kiosk', 'id')} of store {cfg.get('kiosk', 'store_id')} set up"


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = _parser().parse_args(argv)
    try:
        log.info("%s", run(args))
    except (CtlError, config_mod.ConfigError) as exc:
        log.error("%s", exc)
        return 1
    except (OSError, KeyError) as exc:   # KeyError: no such user
        log.error("cannot complete first boot: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
