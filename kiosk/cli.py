"""kioskctl: the staff and technician command line (``--json`` on every command).

Exit codes: 0 success, 2 usage or malformed input, 3 the ledger refuses (insufficient points,
blocked card, out of stock, unknown card...). Errors are one line on stderr; with ``--json``
also ``{"error": ..., "code": ...}`` on stdout.
"""
from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from pathlib import Path
from typing import Callable

from drivers import doctor

from . import config as config_mod
from . import version
from .cli_output import OneLineParser, escape, guarded, human
from .ctl import backup, base as ctl_base, coupons as coupons_ctl, operator, provision, rules_ops, staff as staff_ctl
from .ctl import technician
from .ctl.base import EXIT_REFUSED, EXIT_USAGE, CtlError
from .ledger import ADMIN, InvalidInput, Ledger, LedgerError, NotFound, Refused, parse_count, parse_fen, pii, verify
from .ledger.prune import prune
from .ledger.purchase import lines_from_amount
from .ledger.rules import PackagePlan

COMMANDS: dict[tuple[str, ...], Callable[[argparse.Namespace, Ledger], dict]] = {}


class UsageError(Exception):
    pass


def command(*path: str):
    def register(fn):
        COMMANDS[path] = fn
        return fn
    return register


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options accepted before or after the subcommand (``kioskctl --db D show --card C --json``)."""
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    parser.add_argument("--db", default=d(None), help="ledger SQLite file (default: [kiosk] db in the config)")
    parser.add_argument("--config", default=d(None), help="config TOML layered over /etc/kiosk/kiosk.toml")
    parser.add_argument("--json", action="store_true", default=d(False), help="print JSON")
    parser.add_argument("--operator", default=d(None),
                        help="staff id acting, proven by their PIN (default: the local administrator, root)")
    parser.add_argument("--pin-stdin", action="store_true", default=d(False),
                        help="read PINs from stdin, one a line: the operator's, then a new staff PIN")
    parser.add_argument("--at", default=d(None), help="ISO time of the transaction (replaying scenarios)")


def _amount(text: str) -> int:
    try:
        return parse_fen(text)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _points(text: str) -> int:
    try:
        return parse_count(text, what="points", allow_zero=True)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _signed_points(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    return sign * _points(text.lstrip("+-"))


def _item(text: str) -> tuple[str, str, int]:
    """SKU[:CATEGORY]=AMOUNT"""
    try:
        left, amount = text.rsplit("=", 1)
        sku, _, cat = left.partition(":")
        return sku, cat, parse_fen(amount)
    except (ValueError, InvalidInput):
        raise argparse.ArgumentTypeError(f"item {text!r} must look like SKU:CATEGORY=12.50") from None


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="kioskctl", description=__doc__.splitlines()[0])
    p.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    _common(p, suppress=False)
    top = p.add_subparsers(dest="cmd", metavar="COMMAND", required=True)

    def sub(parent, name, help_, *path):
        sp = parent.add_parser(name, help=help_, description=help_)
        _common(sp, suppress=True)
        sp.set_defaults(path=path)
        return sp

    sp = sub(top, "init", "create the ledger and install rules", "init")
    sp.add_argument("--rules", help="rules TOML (default: the reference rules)")
    sp.add_argument("--pii-key", help="the chain's personal-data key file from head office (0600; default: a new"
                                      " key in LEDGER.key)")

    member = top.add_parser("member", help="members and cards").add_subparsers(dest="sub", required=True)
    sp = sub(member, "add", "register a member and issue a card", "member", "add")
    sp.add_argument("--name", help="optional")
    sp.add_argument("--consent", metavar="VERSION",
                    help="the version of the privacy notice the member agreed to (kept with the registration)")
    sp.add_argument("--phone", required=True)
    sp.add_argument("--card", required=True)
    sp.add_argument("--birthday", help="YYYY-MM-DD")
    sp.add_argument("--referrer", help="the referring member's card")
    sp = sub(member, "show", "show a member", "show")
    _who(sp)
    sp = sub(member, "edit", "edit a member's profile", "member", "edit")
    sp.add_argument("--card", required=True)
    sp.add_argument("--name")
    sp.add_argument("--phone")
    sp.add_argument("--birthday")
    sp = sub(member, "lost", "report a card lost (blocks it at once)", "member", "lost")
    sp.add_argument("--card", required=True)
    sp.add_argument("--reason", default="reported lost")
    sp = sub(member, "replace", "bind a new card to the same member", "member", "replace")
    sp.add_argument("--card", required=True)
    sp.add_argument("--new-card", required=True)
    sp = sub(member, "close", "close the account: refund principal, forfeit bonus and points", "member", "close")
    sp.add_argument("--card", required=True)
    sp.add_argument("--reason", required=True)
    sp = sub(member, "erase", "erase the member's name, phone and birthday everywhere (manager; balances stay)",
             "member", "erase")
    sp.add_argument("--card", required=True)
    sp.add_argument("--reason", required=True)

    tx = top.add_parser("tx", help="transactions").add_subparsers(dest="sub", required=True)
    for name, help_ in (("earn", "record a purchase (earns points)"),
                        ("spend", "record a purchase paid from stored value"),
                        ("quote", "show what a purchase would cost and earn, writing nothing")):
        sp = sub(tx, name, help_, "tx", name)
        sp.add_argument("--card", required=True)
        sp.add_argument("--amount", type=_amount, help="total paid before discounts, e.g. 128.50")
        sp.add_argument("--item", type=_item, action="append", default=[], help="SKU:CATEGORY=AMOUNT (repeatable)")
        sp.add_argument("--coupon", action="append", default=[], help="coupon code to use (repeatable)")
        coupons_ctl.add_arguments(sp)
        sp.add_argument("--points-cash", type=_points, default=0, help="points to use as cash")
        if name != "spend":
            sp.add_argument("--pay", choices=("external", "stored-value"), default="external")
    sp = sub(tx, "checkin", "daily check-in", "tx", "checkin")
    sp.add_argument("--card", required=True)
    sp = sub(tx, "redeem", "redeem a gift for points", "tx", "redeem")
    sp.add_argument("--card", required=True)
    sp.add_argument("--gift", required=True)
    sp = sub(tx, "topup", "top up stored value (bonus rules apply)", "tx", "topup")
    sp.add_argument("--card", required=True)
    sp.add_argument("--amount", type=_amount, required=True)
    sp = sub(tx, "undo", "undo a mistaken top-up (manager, within the window)", "tx", "undo")
    sp.add_argument("tx_id")
    sp.add_argument("--reason", required=True)
    sp = sub(tx, "refund", "refund (part of) a purchase", "tx", "refund")
    sp.add_argument("tx_id")
    sp.add_argument("--amount", type=_amount, required=True)
    sp.add_argument("--reason", default="refund")
    sp = sub(tx, "adjust", "manual points adjustment (manager, with a reason)", "tx", "adjust")
    sp.add_argument("--card", required=True)
    sp.add_argument("--points", type=_signed_points, required=True, help="e.g. 50 or -50")
    sp.add_argument("--reason", required=True)
    sp = sub(tx, "package-sell", "sell a counted-use package", "tx", "package-sell")
    sp.add_argument("--card", required=True)
    sp.add_argument("--package", help="plan code from the rules")
    sp.add_argument("--name", help="ad-hoc package name (instead of --package)")
    sp.add_argument("--uses", type=int)
    sp.add_argument("--price", type=_amount)
    sp.add_argument("--valid-days", type=int, default=365)
    sp.add_argument("--pay", choices=("external", "stored-value"), default="external")
    sp = sub(tx, "package-use", "use one count of a package", "tx", "package-use")
    sp.add_argument("--card", required=True)
    sp.add_argument("--package", help="package id or plan code (default: soonest-expiring)")

    coupon = top.add_parser("coupon", help="coupons").add_subparsers(dest="sub", required=True)
    sp = sub(coupon, "issue", "give a member a coupon", "coupon", "issue")
    sp.add_argument("--card", required=True)
    sp.add_argument("--coupon", required=True)

    sub(top, "expire", "expire points lots and packages past their last day", "expire")
    tiers = top.add_parser("tiers", help="tiers").add_subparsers(dest="sub", required=True)
    sub(tiers, "evaluate", "downgrade members whose hold period has passed", "tiers", "evaluate")
    sp = sub(top, "show", "show a member by card or phone", "show")
    _who(sp)
    sp = sub(top, "journal", "print this kiosk's journal", "journal")
    sp.add_argument("--card")
    sp.add_argument("--since", type=int, default=0, help="after this sequence number")
    sp.add_argument("--limit", type=int, default=1000)
    sub(top, "verify", "check balances equal the journal, sequences and integrity", "verify")
    sub(top, "prune", "delete other stores' members this kiosk does not hold (once, after upgrading to the"
        " store-scoped feed)", "prune")
    sub(top, "gifts", "the gift catalogue with this store's stock", "gifts")
    sub(top, "summary", "today's figures for this kiosk", "summary")
    staff_ctl.add_parsers(top, sub)
    cfg = top.add_parser("config", help="configuration").add_subparsers(dest="sub", required=True)
    sub(cfg, "show", "print the effective configuration (secrets masked)", "config", "show")
    sp = sub(top, "doctor", "check the configured devices and print fixes", "doctor")
    _doctor_arguments(sp)
    rules_ops.add_parsers(top, sub)
    for area in (technician, backup, provision):
        area.add_parsers(top, sub)
    return p


def _who(parser: argparse.ArgumentParser) -> None:
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--card")
    who.add_argument("--phone", help="the member's phone (+86 may be left out)")


def _doctor_arguments(parser: argparse.ArgumentParser) -> None:
    doctor.add_arguments(parser)


def _doctor(args, cfg) -> int:
    """The devices, the [cards] settings, what a tap means as the app would judge it, and the broker."""
    from drivers.cards import config_problems

    from .ctl.broker_check import check_broker
    from .ledger.clock import from_env as clock_from_env
    from .tap_check import card_meaning

    cards, db = cfg.section("cards"), args.db or cfg.get("kiosk", "db")
    problems = config_problems(cards)
    meaning = None if problems else card_meaning(cards, db, lambda: _open(args, cfg))
    broker = check_broker(cfg.section("sync"), cfg.get("kiosk", "id"), clock_from_env().now())
    return doctor.run(args, cfg.get("devices", "nfc") + cfg.get("devices", "scanners"), meaning, problems, broker)


# -- commands -----------------------------------------------------------------------------------
def _purchase(args, led: Ledger, pay: str, preview: bool = False) -> dict:
    if args.amount is None and not args.item:
        raise UsageError("give --amount or --item")
    lines = lines_from_amount(args.amount or 0, [tuple(i) for i in args.item])
    kw = dict(coupons=args.coupon, printed_coupons=coupons_ctl.verified(args), points_cash=args.points_cash,
              pay=pay, at=args.at)
    if preview:
        return led.preview_purchase(args.card, lines, **kw).as_dict()
    return led.purchase(args.card, lines, operator=args.operator, **kw)


@command("init")
def _init(args, led):
    return {"db": led.path, "kiosk_id": led.kiosk_id, "store_id": led.store_id, "rules": led.rules.digest}


def _spend_guard(cfg):
    """Spends ask head office when this kiosk has a head-office key ([sync] hq_public_key; the MQTT
    connection is made at the first spend), else the offline limits the ledger holds."""
    if not cfg.get("sync", "hq_public_key"):
        return None
    from sync.authorize import HeadOfficeGuard, guard_from_config
    try:
        return guard_from_config(cfg, "ctl")
    except (OSError, ValueError) as exc:      # unreadable key, bad broker URL: still a chain's kiosk
        logging.getLogger("kioskctl").warning("cannot ask head office (%s): the offline limits decide", exc)
        return HeadOfficeGuard(None)


def _open(args, cfg, guard=None) -> Ledger:
    """The ledger named by --db or the config; only ``init`` creates one.

    The kiosk and store ids are those recorded in the ledger; ids set explicitly in the config (or
    KIOSK_ID / KIOSK_STORE_ID) must match them. ``guard`` decides its spends.
    """
    db = args.db or cfg.get("kiosk", "db")
    ids = {name: cfg.get("kiosk", key) for name, key in (("kiosk_id", "id"), ("store_id", "store_id"))
           if cfg.source("kiosk", key) != "default"}
    place = {"timezone": cfg.get("kiosk", "timezone"), "phone_region": cfg.get("kiosk", "phone_region")}
    if args.path != ("init",):
        return Ledger(db, **ids, **place, guard=guard)
    rules = args.rules or cfg.get("kiosk", "rules")
    text = Path(rules).read_text(encoding="utf-8") if rules else None
    if args.operator != ADMIN:       # a manager re-installing rules proves their PIN on the existing ledger
        with Ledger(db, **ids, **place) as led:
            operator.sign_in(args, led, "rules_replaced")
    key = pii.read_key_file(args.pii_key) if args.pii_key else None
    return Ledger.create(db, **ids, **place, rules_text=text, operator=args.operator, at=args.at, pii_key=key)


@command("member", "add")
def _member_add(args, led):
    return led.register(name=args.name, phone=args.phone, card_id=args.card, birthday=args.birthday,
                        referrer_card=args.referrer, consent=args.consent, operator=args.operator, at=args.at)


COMMANDS[("member", "edit")] = lambda a, led: led.edit_profile(a.card, name=a.name, phone=a.phone, birthday=a.birthday,
                                                                operator=a.operator, at=a.at)
COMMANDS[("member", "lost")] = lambda a, led: led.report_lost(a.card, reason=a.reason, operator=a.operator, at=a.at)
COMMANDS[("member", "replace")] = lambda a, led: led.replace_card(a.card, a.new_card, operator=a.operator, at=a.at)
COMMANDS[("member", "close")] = lambda a, led: led.close_account(a.card, reason=a.reason, operator=a.operator, at=a.at)
COMMANDS[("member", "erase")] = lambda a, led: led.erase_member(a.card, reason=a.reason, operator=a.operator, at=a.at)
COMMANDS[("tx", "earn")] = lambda a, led: _purchase(a, led, a.pay)
COMMANDS[("tx", "spend")] = lambda a, led: _purchase(a, led, "stored-value")
COMMANDS[("tx", "quote")] = lambda a, led: _purchase(a, led, a.pay, preview=True)
COMMANDS[("tx", "checkin")] = lambda a, led: led.checkin(a.card, operator=_self_or(a.operator), at=a.at)
COMMANDS[("tx", "redeem")] = lambda a, led: led.redeem(a.card, a.gift, operator=a.operator, at=a.at)
COMMANDS[("tx", "topup")] = lambda a, led: led.topup(a.card, a.amount, operator=a.operator, at=a.at)
COMMANDS[("tx", "undo")] = lambda a, led: led.undo_topup(a.tx_id, reason=a.reason, operator=a.operator, at=a.at)
COMMANDS[("tx", "refund")] = lambda a, led: led.refund(a.tx_id, a.amount, reason=a.reason, operator=a.operator,
                                                        at=a.at)
COMMANDS[("tx", "adjust")] = lambda a, led: led.adjust(a.card, a.points, reason=a.reason, operator=a.operator,
                                                        at=a.at)
COMMANDS[("tx", "package-use")] = lambda a, led: led.use_package(a.card, a.package, operator=a.operator, at=a.at)
COMMANDS[("coupon", "issue")] = lambda a, led: led.issue_coupon(a.card, a.coupon, operator=a.operator, at=a.at)
COMMANDS[("expire",)] = lambda a, led: led.expire(at=a.at, operator=a.operator)
COMMANDS[("tiers", "evaluate")] = lambda a, led: led.evaluate_tiers(at=a.at, operator=a.operator)
COMMANDS[("gifts",)] = lambda a, led: {"gifts": led.gifts()}
COMMANDS[("summary",)] = lambda a, led: led.day_summary(at=a.at)
COMMANDS.update(staff_ctl.COMMANDS)
COMMANDS.update(rules_ops.COMMANDS)


@command("show")
def _show(args, led):
    view = led.member_view(args.card or led.member_by_phone(args.phone)["card_id"], at=args.at)
    if not args.json and led.rules.spend_based:     # tier progress is spend in fen: show yuan
        view = {SPEND_FIELDS.get(key, key): value for key, value in view.items()}
    return view


SPEND_FIELDS = {"qualifying": "qualifying_fen", "next_tier_missing": "next_tier_missing_fen"}


def _self_or(operator: str) -> str:
    return "self" if operator == ADMIN else operator


@command("tx", "package-sell")
def _package_sell(args, led):
    if args.package:
        plan = led.rules.package(args.package)
        if plan is None:
            raise UsageError(f"package plan {args.package!r} is not in the rules")
    elif args.name and args.uses and args.price is not None:
        if not 1 <= args.uses <= 1000 or not 1 <= args.valid_days <= 3650:
            raise UsageError("--uses must be 1-1000 and --valid-days 1-3650")
        plan = PackagePlan(code="custom", name=args.name, uses=args.uses, price_fen=args.price,
                           valid_days=args.valid_days)
    else:
        raise UsageError("give --package CODE, or --name, --uses and --price")
    return led.sell_package(args.card, plan, pay=args.pay, operator=args.operator, at=args.at)


@command("journal")
def _journal(args, led):
    member_id = led.member_id_for(args.card) if args.card else None
    return {"journal": led.journal(member_id=member_id, since_seq=args.since, limit=args.limit)}


@command("verify")
def _verify(args, led):
    checked = led.check()
    if checked["problems"]:
        raise LedgerError("; ".join(checked["problems"]), "inconsistent")
    return {"ok": True, "transactions": checked["transactions"], "integrity": checked["integrity"]}


@command("prune")
def _prune(args, led):
    return prune(led.conn, led.kiosk_id, led.store_id)


# -- output -------------------------------------------------------------------------------------
def _fail(args, message: str, code: str, status: int) -> int:
    print(f"kioskctl: {escape(message)}", file=sys.stderr)
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "code": code}, ensure_ascii=False))
    return status


def main(argv: list[str] | None = None) -> int:
    return guarded(_main, argv)


def _main(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg = config_mod.load(args.config)
    except config_mod.ConfigError as exc:
        return _fail(args, str(exc), "bad_config", EXIT_USAGE)
    try:
        action = operator.identify(args, cfg)
    except CtlError as exc:
        return _fail(args, str(exc), exc.code, exc.status)
    if args.path == ("config", "show"):
        settings = cfg.redacted()
        print(json.dumps(settings, ensure_ascii=False) if args.json else "\n\n".join(
            f"[{section}]\n" + "\n".join(f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in keys.items())
            for section, keys in settings.items()))
        return 0
    if args.path == ("doctor",):
        return _doctor(args, cfg)
    if args.path in ctl_base.STANDALONE:
        return ctl_base.run(args, cfg, _fail, lambda r: print(json.dumps(r, ensure_ascii=False) if args.json else human(r)))
    guard = _spend_guard(cfg)
    try:
        return _run(args, cfg, guard, action)
    finally:
        if guard is not None:
            guard.close()


def _run(args, cfg, guard, action: str) -> int:
    try:
        led = _open(args, cfg, guard)
    except InvalidInput as exc:
        return _fail(args, str(exc), exc.code, EXIT_USAGE)
    except (Refused, NotFound) as exc:   # a staff operator's PIN, role or lockout (init)
        return _fail(args, str(exc), exc.code, EXIT_REFUSED)
    except LedgerError as exc:        # not a ledger, another kiosk's ledger, bad rules for init
        return _fail(args, str(exc), exc.code, EXIT_USAGE)
    except OSError as exc:
        return _fail(args, f"{exc.filename}: {exc.strerror}", "io_error", EXIT_USAGE)
    except sqlite3.Error as exc:     # unreadable or damaged
        return _fail(args, f"cannot open ledger {args.db or cfg.get('kiosk', 'db')}: {exc}", "bad_db", EXIT_USAGE)
    args.codes = cfg.section("codes")      # the secrets a printed coupon is verified with
    try:
        if args.path != ("init",):
            operator.sign_in(args, led, action)
        result = COMMANDS[args.path](args, led)
    except UsageError as exc:
        return _fail(args, str(exc), "usage", EXIT_USAGE)
    except InvalidInput as exc:
        return _fail(args, str(exc), exc.code, EXIT_USAGE)
    except LedgerError as exc:
        return _fail(args, str(exc), exc.code, EXIT_REFUSED)
    except OSError as exc:
        return _fail(args, f"{exc.filename}: {exc.strerror}", "io_error", EXIT_USAGE)
    finally:
        led.close()
    print(json.dumps(result, ensure_ascii=False) if args.json else human(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
