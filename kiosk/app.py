"""``kiosk``: the counter touchscreen app (Kivy), or with ``--simulate`` the same app on simulated
devices and a freshly seeded demo ledger.

The entry point wires the pieces: configuration, the ledger file, the drivers named in
[devices] and the UI. Kivy is imported only after its settings are prepared.
"""
from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from . import config as config_mod

log = logging.getLogger("kiosk.app")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kiosk", description=__doc__.splitlines()[0])
    p.add_argument("--config", help="config TOML layered over /etc/kiosk/kiosk.toml")
    p.add_argument("--simulate", action="store_true",
                   help="sim: reader and scanner, a fresh demo ledger under VAR/simulate (or --db as it is), "
                        "a demo panel (F12)")
    p.add_argument("--var", default="var", help="where --simulate keeps its files (default ./var)")
    p.add_argument("--db", help="ledger file (default: [kiosk] db)")
    p.add_argument("--automation", metavar="SOCKET", help="accept test/demo commands on this Unix socket")
    p.add_argument("--size", help="window size, e.g. 1280x800 (default: [ui] size)")
    p.add_argument("--rotation", type=int, choices=(0, 90, 180, 270), help="default: [ui] rotation")
    p.add_argument("--language", choices=("zh_CN", "en"), help="default: [ui] language")
    return p


def _context(args, cfg):
    from .ui.context import KioskContext

    kiosk, ui = cfg.section("kiosk"), cfg.section("ui")
    ctx = KioskContext(db=Path(args.db or kiosk["db"]), kiosk_id=kiosk["id"], store_id=kiosk["store_id"],
                       store_name=kiosk["store_name"], timezone=kiosk["timezone"], phone_region=kiosk["phone_region"],
                       language=args.language or ui["language"], idle_timeout_s=ui["idle_timeout_s"],
                       cards=cfg.section("cards"), codes=cfg.section("codes"), nfc=cfg.get("devices", "nfc"),
                       scanners=cfg.get("devices", "scanners"), automation=args.automation)
    if args.simulate:
        from . import demo_data

        if not args.db:
            folder = Path(args.var) / "simulate"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            ctx.db = folder / "ledger.db"
            demo_data.seed(ctx.db, kiosk_id=ctx.kiosk_id, store_id=ctx.store_id, timezone=ctx.timezone)
        demo = demo_data.demo_config()
        ctx.cards, ctx.codes = demo["cards"], demo["codes"]
        ctx.nfc, ctx.scanners, ctx.simulate = ["sim:reader"], ["sim:scanner"], True
    return ctx


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=cfg.get("kiosk", "log_level"), format="%(levelname)s %(name)s: %(message)s")
    # nfcpy logs an ERROR on every retry while a reader is missing; the driver reports each change once
    logging.getLogger("nfc").setLevel(logging.CRITICAL)
    ctx = _context(args, cfg)
    from .ledger import LedgerError

    try:
        ctx.open_ledger().close()     # a missing file, another application's or another kiosk's: refused
    except LedgerError as exc:
        print(f"kiosk: {exc} (or kiosk --simulate)", file=sys.stderr)
        return 2
    ui = cfg.section("ui")
    from .ui import kivy_env

    try:
        kivy_env.prepare(home=(Path(args.var) if args.simulate else ctx.db.parent) / "kivy",
                         size=args.size or ui["size"], rotation=ui["rotation"] if args.rotation is None else args.rotation,
                         fullscreen=ui["fullscreen"], touch=ui["touch"])
    except ValueError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return 2
    try:
        ctx.head_office = _head_office(cfg, ctx)
    except (OSError, ValueError) as exc:      # unreadable key or certificate, bad broker URL
        print(f"kiosk: [sync]: {exc}", file=sys.stderr)
        return 2
    from .ui.kioskapp import KioskApp

    try:
        KioskApp(ctx).run()
    finally:
        if ctx.head_office is not None:
            ctx.head_office.close()
    return 0


def _head_office(cfg, ctx):
    """The sync link: online authorization of spends, head-office status and corrections.

    A device always has one (without [sync] hq_public_key it can only apply the offline limits the
    sync agent stored). A simulation has one only when the key is configured; otherwise the demo
    spends on the local ledger's word.
    """
    if ctx.simulate and not cfg.get("sync", "hq_public_key"):
        return None
    from sync.kiosk_link import KioskLink

    return KioskLink.from_config(cfg, str(ctx.db))


if __name__ == "__main__":
    sys.exit(main())
