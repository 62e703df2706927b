"""``kiosk-hq`` subcommands for head-office operations: reports, churn, monitoring, reminders,
imports, restock and staff. Each prints a human table, ``--csv`` or ``--json``; errors are one line
(``{"error", "code"}`` with ``--json``) and exit 2 for bad usage, 3 when refused.

The work is done by plain functions in ``sync.hq.*``; this module only parses and prints.
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timezone

from kiosk.ledger import parse_fen
from kiosk.ledger.errors import LedgerError

from .output import render

USAGE, REFUSED = 2, 3
COMMANDS: dict[str, object] = {}     # name -> module with add_parser(sub) and run(args) -> (data, tables)


class Refusal(Exception):
    """A command that cannot do what was asked (exit 3), as opposed to bad usage (exit 2)."""

    def __init__(self, message: str, code: str = "refused"):
        super().__init__(message)
        self.code = code


def common(p: argparse.ArgumentParser, *, png: bool = False) -> argparse.ArgumentParser:
    p.add_argument("--db", required=True, help="sqlite:///path or postgresql://...")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", dest="format", action="store_const", const="json", help="print JSON")
    out.add_argument("--csv", dest="format", action="store_const", const="csv", help="print CSV")
    p.add_argument("--lang", choices=("en", "zh"), default="en", help="labels of tables and charts")
    p.add_argument("--tz", default="Asia/Shanghai", help="the chain's time zone for days and hours")
    if png:
        p.add_argument("--png", metavar="FILE", help="also draw the chart(s) into FILE (PNG)")
    p.set_defaults(format="table")
    return p


def day_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-03-31") from None


def moment_arg(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not an instant with an offset like 2026-03-31T09:00+08:00")
    return moment.astimezone(timezone.utc)


def yuan_arg(text: str) -> int:
    try:
        return parse_fen(text, allow_zero=True, what="amount")
    except LedgerError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parsers(sub) -> None:
    """Hook for ``sync/hq/cli.py``: register every operations subcommand."""
    from . import ops_commands
    for name, (helptext, build, run) in ops_commands.COMMANDS.items():
        p = sub.add_parser(name, help=helptext)
        build(p)
        p.set_defaults(ops_run=run)


def staff_argv(argv: list[str] | None) -> list[str]:
    """``staff list|disable`` are operations commands; ``staff ID NAME ROLE`` stays the add command;
    ``member erase`` is ``member-erase``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["staff"] and argv[1:2] in (["list"], ["disable"]) or argv[:2] == ["member", "erase"]:
        return [f"{argv[0]}-{argv[1]}", *argv[2:]]
    return argv


def run(args) -> int:
    """Run an operations command and print its result; the exit code."""
    from .db import Db
    fmt = getattr(args, "format", "table")
    if args.db is None:                      # a command that needs no database
        data, tables = args.ops_run(None, args)
        sys.stdout.write(render(fmt, data, tables) + "\n")
        return 0
    try:
        db = Db(args.db)
    except (ValueError, ImportError) as exc:
        return _fail(fmt, str(exc), "usage", USAGE)
    except Exception as exc:   # noqa: BLE001 - the database cannot be opened: say so in one line
        return _fail(fmt, f"cannot open {args.db}: {exc}", "db_unavailable", REFUSED)
    try:
        data, tables, *status = args.ops_run(db, args)
    except Refusal as exc:
        return _fail(fmt, str(exc), exc.code, REFUSED)
    except LedgerError as exc:
        return _fail(fmt, str(exc), exc.code, REFUSED)
    except ValueError as exc:
        return _fail(fmt, str(exc), "invalid", USAGE)
    finally:
        db.close()
    sys.stdout.write(render(fmt, data, tables) + "\n")
    return status[0] if status else 0


def _fail(fmt: str, message: str, code: str, status: int) -> int:
    if fmt == "json":
        print(json.dumps({"error": message, "code": code}, ensure_ascii=False))
    else:
        print(f"kiosk-hq: {message}", file=sys.stderr)
    return status
