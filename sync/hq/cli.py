"""``kiosk-hq``: run the hub, or change head office's data (the running hub publishes it).

Exit status: 0 done; 2 usage or bad input (a bad --db URL, JSON, rules file, role...), one line on
stderr; 141 when the reader of the output went away (``| head``).
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from drivers.tokens import public_key_from_hex
from kiosk import version
from kiosk.cli_output import EXIT_USAGE, OneLineParser, guarded, read_pin
from kiosk.ledger import LedgerError

from ..cli_common import add_broker_options, broker_from, setup_logging, stop_on_signals
from ..protocol import Signer, generate
from .db import Db
from ..protocol.limits import DEFAULT_LIMITS
from . import runs
from .policy import load_policy
from .retained import Retained
from . import ops_cli, pki
from .sources import CHANNELS, Sources


def _parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="kiosk-hq", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a hub process")
    run.add_argument("--db", required=True, help="sqlite:///path or postgresql://...")
    add_broker_options(run)
    run.add_argument("--signing-key", required=True, help="head office's Ed25519 private key (PEM)")
    run.add_argument("--hub-id", default="hq-1", help="unique per hub process (its MQTT client id)")
    run.add_argument("--group", default="hq", help="shared-subscription group of the hubs")
    run.add_argument("--mount", default="", help="the sources' listener's mount point: sources/ with the shipped"
                                                 " broker/mosquitto.conf (empty: one listener, development)")
    run.add_argument("--hold-on-overdraft", action="store_true", help="block a member's cards after a double spend")
    run.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port (docs/sync.md, Metrics)")
    run.add_argument("--metrics-address", default="127.0.0.1", help="address for --metrics-port (default: local only)")
    run.add_argument("--timezone", default="Asia/Shanghai", help="the chain's time zone: local days for coupon validity and lot expiry")
    run.add_argument("--policy", help="TOML bounds on records head office cannot re-derive (docs/head-office.md)")
    run.add_argument("--refuse-unverified", action="store_true",
                     help="refuse records without inputs (version < 3) once every kiosk is upgraded")
    run.add_argument("--token-public-key", default="",
                     help="the member cards' token key (hex, as kiosks' [cards] token_public_key): credits deferred"
                          " purchases (docs/sync.md, Deferred earning)")
    keygen = sub.add_parser("keygen", help="make head office's signing key pair")
    keygen.add_argument("--out", required=True, help="folder for hq-signing.pem and hq-signing.pub")
    for name, helptext in (("migrate", "bring the database's tables to this release (an upgrade's first step)"),
                           ("rules", "publish a rules file"), ("limits", "publish offline limits (JSON)"),
                           ("block", "hold a card chain-wide"), ("unblock", "release a held card"),
                           ("staff", "add or change a staff member"), ("catalogue", "publish a store's catalogue"),
                           ("picture", "publish a gift's picture (PNG or JPEG, at most 256 KiB)"),
                           ("gaps", "list sources with missing sequence numbers"),
                           ("sources", "list sources: enrolled or retired, mark, chain tip, held or not"),
                           ("enrol", "enrol a source (kiosk, web shop, POS): only enrolled sources are heard"),
                           ("retire", "retire a source: nothing more of it is accepted"),
                           ("release", "release a source held after a chain break (once a technician has looked)")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--db", required=True)
    sub.choices["rules"].add_argument("file")
    sub.choices["limits"].add_argument("json", nargs="?", help=f"default {json.dumps(DEFAULT_LIMITS)}")
    sub.choices["block"].add_argument("card_id")
    sub.choices["block"].add_argument("--reason", required=True)
    sub.choices["unblock"].add_argument("card_id")
    for arg in ("staff_id", "name", "role"):
        sub.choices["staff"].add_argument(arg)
    sub.choices["staff"].add_argument("--pin-stdin", action="store_true",
                                      help="read the PIN from stdin (else prompted without echo); never an argument")
    sub.choices["staff"].add_argument("--card")
    sub.choices["catalogue"].add_argument("store_id")
    sub.choices["picture"].add_argument("sku", help="the gift's SKU in the published rules")
    sub.choices["picture"].add_argument("file", help="the picture: PNG or JPEG (checked by content)")
    sub.choices["release"].add_argument("source_id")
    enrol = sub.choices["enrol"]
    enrol.add_argument("source_id", nargs="?", help="the source's id, also its certificate's CN")
    enrol.add_argument("--store", help="the store it belongs to (required with SOURCE_ID)")
    enrol.add_argument("--channel", default="kiosk", choices=CHANNELS)
    enrol.add_argument("--from-seen", action="store_true",
                       help="enrol every source this hub already took records from (upgrading a chain)")
    sub.choices["retire"].add_argument("source_id")
    sub.choices["retire"].add_argument("--reason", required=True)
    pki.add_parsers(sub)
    ops_cli.add_parsers(sub)        # reports, churn, monitor, import, restock... (sync/hq/ops_commands.py)
    runs.add_parsers(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    return guarded(_main, argv)


def _main(argv: list[str] | None) -> int:
    args = _parser().parse_args(ops_cli.staff_argv(argv))
    if hasattr(args, "ops_run"):
        return ops_cli.run(args)
    try:
        return _run(args)
    except BrokenPipeError:
        raise
    except OSError as exc:
        problem = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)
    except json.JSONDecodeError as exc:
        problem = f"{args.command}: not valid JSON: {exc}"
    except (ValueError, LedgerError, sqlite3.Error) as exc:   # bad URL, schema, rules, role; unreadable db
        problem = str(exc)
    print(f"kiosk-hq: {problem}", file=sys.stderr)
    return EXIT_USAGE


def _run(args: argparse.Namespace) -> int:
    if args.command == "run":
        from .hub import Hub
        setup_logging(args.log_level)
        policy = load_policy(Path(args.policy).read_text()) if args.policy else None
        hub = Hub(args.db, broker_from(args), Signer.load(args.signing_key), hub_id=args.hub_id, group=args.group,
                  mount=args.mount, hold_on_overdraft=args.hold_on_overdraft, timezone=args.timezone, policy=policy,
                  accept_legacy=not args.refuse_unverified, metrics_port=args.metrics_port,
                  metrics_address=args.metrics_address, token_key=public_key_from_hex(args.token_public_key))
        hub.run(stop_on_signals())
        return 0
    if args.command == "keygen":
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        generate(out / "hq-signing.pem", out / "hq-signing.pub")
        print(json.dumps({"private": str(out / "hq-signing.pem"), "public": str(out / "hq-signing.pub")}))
        return 0
    if args.command == "pki":
        print(json.dumps(pki.run(args)))
        return 0
    db = Db(args.db)
    retained = Retained(db)
    if args.command == "gaps":
        rows = db.conn.execute("SELECT s.source_id, s.hwm, MIN(p.seq), COUNT(p.seq) FROM hq_sources s JOIN hq_parked p"
                               " ON p.source_id = s.source_id GROUP BY s.source_id, s.hwm").fetchall()
        result = [{"source_id": s, "confirmed_to": h, "missing_from": h + 1, "missing_to": lo - 1, "held": n}
                  for s, h, lo, n in rows]
    elif args.command == "sources":
        result = Sources(db).listing()
    elif args.command == "enrol":
        result = _enrol(Sources(db), args)
    elif args.command == "retire":
        result = Sources(db).retire(args.source_id, args.reason)
    elif args.command == "release":
        with db.transaction():
            held = db.conn.execute("SELECT held FROM hq_sources WHERE source_id = ?", (args.source_id,)).fetchone()
            db.conn.execute("UPDATE hq_sources SET held = NULL WHERE source_id = ?", (args.source_id,))
        result = {"source_id": args.source_id, "was_held": held[0] if held else None}
    elif args.command == "migrate":     # Db() has migrated: say to which versions
        result = db.schema_versions()
    elif args.command in runs.RUNS:
        result = runs.run(args, db)
    elif args.command == "picture":
        result = retained.set_picture(args.sku, args.file)
    else:
        result = {"version": {
            "rules": lambda: retained.set_rules(Path(args.file).read_text()),
            "limits": lambda: retained.set_limits(json.loads(args.json) if args.json else DEFAULT_LIMITS),
            "block": lambda: retained.block(args.card_id, args.reason),
            "unblock": lambda: retained.unblock(args.card_id),
            "staff": lambda: retained.add_staff(args.staff_id, args.name, args.role,
                                                read_pin(f"PIN for {args.staff_id}: ", args.pin_stdin), args.card),
            "catalogue": lambda: retained.set_catalogue(args.store_id),
        }[args.command]()}
    print(json.dumps(result, ensure_ascii=False))
    return 0


def _enrol(sources: Sources, args: argparse.Namespace):
    if args.from_seen == bool(args.source_id):
        raise ValueError("enrol: give either SOURCE_ID --store STORE or --from-seen")
    if args.from_seen:
        return sources.enrol_seen()
    if not args.store:
        raise ValueError("enrol: --store is required with a SOURCE_ID")
    return sources.enrol(args.source_id, args.store, args.channel)


if __name__ == "__main__":
    sys.exit(main())
