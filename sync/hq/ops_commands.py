"""The operations subcommands: for each, its arguments and a function (db, args) -> (data, tables).

Kept apart from the plain functions they call so the console can call those directly.
"""
from __future__ import annotations

from kiosk.ledger.clock import from_env

from ..cli_common import add_broker_options

from .ops_cli import REFUSED, Refusal, common, day_arg, moment_arg, yuan_arg
from .churn import SEGMENTS, at_risk, churn_tables, score, win_back
from .output import table_from_dicts
from .reports.liability import liability, liability_tables, members_above
from .reports.period import parse_period
from .reports.summary import summary, summary_tables

COMMANDS: dict[str, tuple] = {}


def command(name: str, helptext: str, build):
    def register(run):
        COMMANDS[name] = (helptext, build, run)
        return run
    return register


# -- reports -----------------------------------------------------------------------------------
def _report_args(p):
    kinds = p.add_subparsers(dest="report", required=True)
    s = common(kinds.add_parser("summary", help="business summary of a day, a month or days"), png=True)
    s.add_argument("period", help="2026-03-05, 2026-03 or 2026-03-01..2026-03-14")
    li = common(kinds.add_parser("liability", help="points and stored value owed at the end of a day, by store"))
    li.add_argument("--as-of", type=day_arg, required=True, help="the day (its end, local time)")
    ab = common(kinds.add_parser("above", help="members whose stored value exceeds a threshold"))
    ab.add_argument("--as-of", type=day_arg, required=True)
    ab.add_argument("--threshold", type=yuan_arg, required=True, help="yuan, e.g. 5000.00")
    a = common(kinds.add_parser("activity", help="tiers, active/dormant, top members, products, hours"), png=True)
    a.add_argument("period")
    a.add_argument("--dormant-days", type=int, default=90)
    a.add_argument("--top", type=int, default=20)
    c = common(kinds.add_parser("campaign", help="a campaign window against the same length before it"), png=True)
    c.add_argument("period", help="the campaign's days, e.g. 2026-03-01..2026-03-14")


@command("report", "head-office reports (summary, liability, above, activity, campaign)", _report_args)
def _report(db, args):
    conn = db.conn
    if args.report == "summary":
        data = summary(conn, parse_period(args.period, args.tz))
        if args.png:
            from .reports.charts import summary_chart
            summary_chart(data, args.png, args.lang)
        return data, summary_tables(data, args.lang)
    if args.report == "liability":
        data = liability(conn, args.as_of, args.tz)
        return data, liability_tables(data)
    if args.report == "above":
        rows = members_above(conn, args.as_of, args.threshold, args.tz)
        data = {"as_of": args.as_of.isoformat(), "threshold_fen": args.threshold, "members": rows}
        return data, [table_from_dicts(f"Stored value above {args.threshold} fen at the end of {args.as_of}", rows,
                                       ["member_id", "store_id", "principal_fen", "bonus_fen", "stored_value_fen"])]
    from .reports import activity
    period = parse_period(args.period, args.tz)
    if args.report == "activity":
        data = activity.activity(conn, period, dormant_days=args.dormant_days, top=args.top)
        if args.png:
            from .reports.charts import activity_charts
            activity_charts(data, args.png, args.lang)
        return data, activity.activity_tables(data)
    data = activity.campaign(conn, period)
    if args.png:
        from .reports.charts import campaign_chart
        campaign_chart(data, args.png, args.lang)
    return data, activity.campaign_tables(data)


def now_of(args):
    """``--now`` when given, else the injectable clock (``KIOSK_CLOCK_START`` pins it for tests)."""
    return args.now or from_env().now()


def _now_arg(p):
    p.add_argument("--now", type=moment_arg, help="the moment to act at (default: now)")


# -- monitoring --------------------------------------------------------------------------------
def _monitor_args(p):
    verbs = p.add_subparsers(dest="verb", required=True)
    scan = common(verbs.add_parser("scan", help="check what was applied since the last scan"))
    scan.add_argument("--rules", help="TOML file with a [monitor] table (default rules without)")
    _now_arg(scan)
    _alerts_args(verbs.add_parser("alerts", help="list alerts, newest first (also: kiosk-hq alerts)"))
    rel = common(verbs.add_parser("release", help="release the cards an alert holds"))
    rel.add_argument("alert_id", type=int)
    rel.add_argument("--by", required=True, help="the manager releasing it (staff id)")
    _now_arg(rel)


@command("monitor", "abnormal-transaction monitoring: scan, alerts, release a hold", _monitor_args)
def _monitor(db, args):
    from pathlib import Path

    from .monitor import Monitor, load_monitor_rules, release
    if args.verb == "scan":
        rules = load_monitor_rules(Path(args.rules).read_text(encoding="utf-8") if args.rules else "", args.tz)
        alerts = Monitor(db, rules).scan(now_of(args))
        rows = [{**a, "detail": _short(a["detail"])} for a in alerts]
        return {"alerts": alerts}, [table_from_dicts(f"{len(alerts)} new alert(s)", rows,
                                                     ["alert_id", "rule", "source_id", "member_id", "hold", "detail"])]
    if args.verb == "alerts":
        return _alerts(db, args)
    staff = db.conn.execute("SELECT role FROM staff WHERE staff_id = ?", (args.by,)).fetchone()
    if staff is None or staff[0] != "manager":
        raise Refusal(f"{args.by} is not a manager known to head office", "forbidden")
    try:
        out = release(db, args.alert_id, by=args.by, now=now_of(args))
    except LookupError as exc:
        raise Refusal(str(exc), "not_held") from None
    return out, [table_from_dicts("Released", [out])]


def _alerts_args(p):
    common(p)
    p.add_argument("--since", default="", help="UTC instant text, e.g. 2026-03-01")
    p.add_argument("--kind", help="only this kind (monitor, overdraft, gap, conflict, rejected, chain_break)")


@command("alerts", "list alerts, newest first: the hub's (double spends, conflicts, rejected records, chain "
                   "breaks) and monitoring hits", _alerts_args)
def _alerts(db, args):
    from .monitor import list_alerts
    alerts = list_alerts(db.conn, since=args.since, kind=args.kind)
    rows = [{**a, "detail": _short(a["detail"])} for a in alerts]
    return {"alerts": alerts}, [table_from_dicts("Alerts", rows, ["alert_id", "at", "kind", "rule", "source_id",
                                                                  "member_id", "holding", "detail"])]


def _short(detail: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in detail.items() if k not in ("rule", "held"))[:80]


# -- churn and win-back ------------------------------------------------------------------------
def _churn_args(p):
    common(p)
    _now_arg(p)
    p.add_argument("--multiple", type=float, default=2.0, help="at risk past this many usual intervals (2.0)")
    p.add_argument("--segment", choices=SEGMENTS, help="only this RFM segment")
    p.add_argument("--all", action="store_true", help="every scored member, not only those at risk")


@command("churn", "RFM scores and members at risk of churning (CSV for marketing with --csv)", _churn_args)
def _churn(db, args):
    if args.multiple <= 0:
        raise ValueError("--multiple must be above 0")
    if args.all:
        members = [m for m in score(db.conn, now_of(args), multiple=args.multiple, tz=args.tz)
                   if args.segment in (None, m["segment"])]
    else:
        members = at_risk(db.conn, now_of(args), multiple=args.multiple, segment=args.segment, tz=args.tz)
    return {"as_of": now_of(args).isoformat(), "multiple": args.multiple, "members": members}, churn_tables(members)


def _winback_args(p):
    _churn_args(p)
    p.add_argument("--coupon", required=True, help="coupon code from the rules, e.g. V20")
    p.add_argument("--campaign", required=True, help="name of this offer: a member gets it once per campaign")
    p.add_argument("--limit", type=int, help="at most this many members, most valuable first")


@command("winback", "issue a win-back coupon (and a notification) to members at risk", _winback_args)
def _winback(db, args):
    members = at_risk(db.conn, now_of(args), multiple=args.multiple, segment=args.segment, tz=args.tz)
    out = win_back(db, members[:args.limit] if args.limit else members, coupon=args.coupon, campaign=args.campaign,
                   now=now_of(args), tz=args.tz)
    return out, [table_from_dicts(f"Win-back {args.campaign}: {len(out['issued'])} issued, {out['already']} had it",
                                  out["issued"], ["member_id", "coupon", "valid_until", "tx_id"])]


# -- reminders and the notification outbox -----------------------------------------------------
def _remind_args(p):
    common(p)
    _now_arg(p)
    p.add_argument("--horizons", default="7,3", help="days ahead to remind of expiring points (7,3)")


@command("remind", "queue expiry reminders and birthday greetings due today", _remind_args)
def _remind(db, args):
    from .reminders import remind
    try:
        horizons = tuple(int(h) for h in args.horizons.split(","))
    except ValueError:
        raise ValueError(f"--horizons {args.horizons!r} must be whole days like 7,3") from None
    out = remind(db, now_of(args), horizons=horizons, tz=args.tz)
    return out, [table_from_dicts(f"Queued on {out['day']}", [out["queued"]])]


def _outbox_args(p):
    common(p)
    p.add_argument("--state", choices=("pending", "sent", "delivered", "failed"))


@command("outbox", "list the notification outbox", _outbox_args)
def _outbox(db, args):
    from .notify import outbox
    items = outbox(db.conn, state=args.state)
    return {"notifications": items}, [table_from_dicts("Notifications", items)]


def _ops_args(p):
    p.add_argument("--db", required=True, help="sqlite:///path or postgresql://...")
    add_broker_options(p)
    p.add_argument("--signing-key", required=True, help="head office's Ed25519 private key (PEM)")
    p.add_argument("--gateway-key", required=True, help="file with the key shared with the gateway (64 hex digits)")
    p.add_argument("--rules", help="TOML file with a [monitor] table")
    p.add_argument("--horizons", default="7,3", help="days ahead to remind of expiring points")
    p.add_argument("--interval", type=float, default=5.0, help="seconds between rounds")
    p.add_argument("--client-id", default="hq-ops")
    p.set_defaults(format="table")


@command("ops", "run the operations process: monitoring, alerts, reminders, notifications", _ops_args)
def _ops(db, args):
    from pathlib import Path

    from ..cli_common import broker_from, setup_logging, stop_on_signals
    from ..protocol import Signer
    from .monitor import load_monitor_rules
    from .notify import Sealer
    from .opsloop import OpsLoop
    setup_logging(args.log_level)
    rules = load_monitor_rules(Path(args.rules).read_text(encoding="utf-8") if args.rules else "")
    loop = OpsLoop(args.db, broker_from(args), Signer.load(args.signing_key), Sealer.load(args.gateway_key),
                   rules=rules, horizons=tuple(int(h) for h in args.horizons.split(",")), client_id=args.client_id)
    loop.run(stop_on_signals(), from_env(), args.interval)
    return {"stopped": True}, []


def _gateway_key_args(p):
    p.add_argument("--out", required=True, help="file to write the new key to (mode 600)")
    p.set_defaults(format="table", db=None)


@command("gateway-key", "make the key head office shares with the notification gateway", _gateway_key_args)
def _gateway_key(db, args):
    from .notify import Sealer
    Sealer.generate(args.out)
    return {"key": args.out}, [table_from_dicts("Gateway key written", [{"file": args.out}])]


# -- migration import --------------------------------------------------------------------------
def _import_args(p):
    common(p)
    _now_arg(p)
    p.add_argument("kind", choices=("members", "balances", "transactions"))
    p.add_argument("file", help="CSV with a header row (UTF-8 or GB18030)")
    p.add_argument("--encoding", default="auto", help="auto (UTF-8, else GB18030), utf-8 or gb18030")
    p.add_argument("--skip-invalid", action="store_true", help="import the valid rows even when some are refused")


@command("import", "import members, balances or purchase history from an old system (CSV)", _import_args)
def _import(db, args):
    from pathlib import Path

    from .importer import Importer, ImportRefused
    try:
        raw = Path(args.file).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {args.file}: {exc.strerror}") from None
    try:
        out = Importer(db, now_of(args), tz=args.tz).run(args.kind, raw, encoding=args.encoding,
                                                         skip_invalid=args.skip_invalid, progress=_progress())
    except ImportRefused as exc:
        raise Refusal(str(exc), "bad_file") from None
    data = out.as_dict()
    title = (f"{args.file} ({out.encoding}): {out.rows} rows, imported {len(out.imported)}, already imported "
             f"{out.already}, refused {len(out.refused)}" + ("" if out.written or not out.refused else
                                                              " -- nothing written (use --skip-invalid)"))
    refused = table_from_dicts(title, [{"line": f"line {r['line']}", "reason": r["reason"]} for r in out.refused],
                               ["line", "reason"])
    return data, [refused], (REFUSED if out.refused and not args.skip_invalid else 0)


def _progress():
    """A progress bar on the terminal (nothing when stderr is not one)."""
    import sys
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        if done == total or done % 200 == 0:
            filled = 30 * done // max(total, 1)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {100 * done // max(total, 1):3d}%")
            if done == total:
                sys.stderr.write("\n")
    return show


# -- restock and staff -------------------------------------------------------------------------
def _restock_args(p):
    common(p)
    _now_arg(p)
    p.add_argument("--store", required=True)
    p.add_argument("--gift", required=True, help="the gift's SKU in the rules' catalogue")
    p.add_argument("--qty", type=int, required=True, help="how many arrived (negative: a correction)")
    p.add_argument("--by", default="hq", help="who restocks (recorded as the operator)")


@command("restock", "add gift stock to a store (journaled, fed to its kiosks)", _restock_args)
def _restock(db, args):
    from .staffops import restock
    try:
        out = restock(db, args.store, args.gift, args.qty, operator=args.by, now=now_of(args))
    except LookupError as exc:
        raise Refusal(str(exc), "refused") from None
    return out, [table_from_dicts("Restocked", [out])]


def _staff_list_args(p):
    common(p)


@command("staff-list", "list staff (also: kiosk-hq staff list)", _staff_list_args)
def _staff_list(db, args):
    from .staffops import list_staff
    staff = list_staff(db.conn)
    return {"staff": staff}, [table_from_dicts("Staff", staff)]


def _staff_disable_args(p):
    common(p)
    _now_arg(p)
    p.add_argument("staff_id")
    p.add_argument("--reason", required=True)
    p.add_argument("--by", default="hq", help="who disables them")


@command("staff-disable", "disable a staff member at every kiosk (also: kiosk-hq staff disable)", _staff_disable_args)
def _staff_disable(db, args):
    from .staffops import disable_staff
    try:
        out = disable_staff(db, args.staff_id, by=args.by, reason=args.reason, now=now_of(args))
    except LookupError as exc:
        raise Refusal(str(exc), "unknown_staff") from None
    return out, [table_from_dicts("Disabled", [out])]


def _erase_args(p):
    common(p)
    _now_arg(p)
    p.add_argument("member_id")
    p.add_argument("--reason", required=True)
    p.add_argument("--by", required=True, help="the manager erasing (staff id)")


@command("member-erase", "erase a member's name, phone and birthday chain-wide (also: kiosk-hq member erase)",
         _erase_args)
def _member_erase(db, args):
    from .erasure import erase_member
    try:
        out = erase_member(db, args.member_id, by=args.by, reason=args.reason, now=now_of(args))
    except PermissionError as exc:
        raise Refusal(str(exc), "forbidden") from None
    except LookupError as exc:
        raise Refusal(str(exc), "refused") from None
    return out, [table_from_dicts("Erased", [out])]


# -- demo data ---------------------------------------------------------------------------------
def _generate_args(p):
    common(p)
    p.add_argument("--members", type=int, default=50_000)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--start", type=day_arg, default=None, help="first day (default 2025-01-01)")
    p.add_argument("--seed", type=int, default=1)


@command("generate", "fill an EMPTY hub database with a realistic demo chain (tests, demos, benchmarks)",
         _generate_args)
def _generate(db, args):
    import tempfile
    from datetime import date

    from .db import Db
    from .generate import ChainSpec, copy_to_postgres, generate
    if db.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]:
        raise Refusal("the database already has transactions: generate only fills an empty one", "not_empty")
    if args.members <= 0 or args.days <= 0:
        raise ValueError("--members and --days must be above 0")
    spec = ChainSpec(members=args.members, days=args.days, start=args.start or date(2025, 1, 1), seed=args.seed,
                     tz=args.tz)
    if db.dialect == "sqlite":
        made = generate(db, spec)
    else:                               # generate into SQLite, then COPY: far fewer round trips
        with tempfile.TemporaryDirectory() as tmp:
            scratch = Db(f"sqlite:///{tmp}/chain.db")
            made = generate(scratch, spec)
            copy_to_postgres(scratch, db.url).close()
            scratch.close()
    return made, [table_from_dicts("Generated", [{k: v for k, v in made.items() if k != "kiosks"}])]


# -- member card tokens ------------------------------------------------------------------------
def _card_token_args(p):
    common(p)
    p.add_argument("card_id")
    p.add_argument("--key", required=True, help="the member-token private key (Ed25519 PEM)")
    p.add_argument("--uid", default="", help="the chip's UID (hex) to bind the token to; empty: any chip")
    _now_arg(p)


@command("card-token", "sign a version-2 member token (NDEF, hex) for a card: docs/hardware.md", _card_token_args)
def _card_token(db, args):
    from .card_tokens import card_token, load_key
    try:
        uid = bytes.fromhex(args.uid)
    except ValueError:
        raise ValueError(f"--uid {args.uid!r} is not hex") from None
    made = card_token(db.conn, load_key(args.key), args.card_id, uid=uid, issued_at=int(now_of(args).timestamp()))
    return made, [table_from_dicts("Member token", [made])]
