"""Head office's dated benefit runs: the tier birthday coupons of a birthday month and the top-up
bonus instalments due by a day. Each takes its moment explicitly (``kiosk-hq birthday-run --at``),
builds its effects with the kiosk's own code (:mod:`kiosk.ledger.benefits`) and journals one
head-office transaction per member or part, which the feed carries to the kiosks. A member who
already got the benefit at a kiosk (or in an earlier run) gets nothing more.
"""
from __future__ import annotations

from kiosk.ledger import load_rules, pii
from kiosk.ledger.benefits import birthday_effects, due_parts, pay_part_effects
from kiosk.ledger.dates import parse_moment, to_utc_text

from .ingest import Ingest


def _setting(ingest: Ingest, at: str):
    """The rules head office holds, the run's instant and its day in the chain's time zone."""
    row = ingest.conn.execute("SELECT value FROM meta WHERE key = 'rules'").fetchone()
    if row is None:
        raise ValueError("head office has no rules yet: run `kiosk-hq rules FILE` first")
    moment = parse_moment(at, ingest.tz, ingest.clock.now())
    return load_rules(row[0]), moment, moment.astimezone(ingest.tz).date()


def birthday_run(ingest: Ingest, *, at: str, store_id: str) -> list[dict]:
    """Give each active member whose birthday month it is their tier's birthday coupon, once a year."""
    rules, moment, day = _setting(ingest, at)
    members = [{"member_id": member_id, "tier": tier, "birthday": birthday, "status": "active"}
               for member_id, tier, birthday in pii.birthdays(ingest.conn, ingest.db.keyring)
               if int(birthday[5:7]) == day.month]
    given = []
    for member in members:
        record = ingest.originate("benefits", lambda tx_id: birthday_effects(ingest.conn, rules, member, tx_id, day),
                                  store_id=store_id, member_id=member["member_id"], at=to_utc_text(moment),
                                  data={"birthday_coupon": rules.tier(member["tier"]).birthday_coupon})
        if record:
            given.append({"tx_id": record["tx_id"], "member_id": member["member_id"],
                          "coupon": record["data"]["birthday_coupon"]})
    return given


def instalment_run(ingest: Ingest, *, at: str, store_id: str) -> list[dict]:
    """Pay every top-up bonus part due by the day that no kiosk visit has paid yet."""
    rules, moment, day = _setting(ingest, at)
    paid = []
    for part in due_parts(ingest.conn, day):
        def build(tx_id: str, part=part) -> list[dict]:
            still_due = any(p["topup_tx"] == part["topup_tx"] and p["part"] == part["part"]
                            for p in due_parts(ingest.conn, day, part["member_id"]))
            return pay_part_effects(ingest.conn, rules, part, tx_id, day) if still_due else []
        record = ingest.originate("benefits", build, store_id=store_id, member_id=part["member_id"],
                                  at=to_utc_text(moment), data={"instalments": [part], "points": part["points"],
                                                                "bonus_fen": part["bonus_fen"]})
        if record:
            paid.append({"tx_id": record["tx_id"], **part})
    return paid


def add_parsers(sub) -> None:
    """``kiosk-hq birthday-run`` and ``kiosk-hq instalment-run`` (hooked into sync/hq/cli.py)."""
    for name, help_ in (("birthday-run", "give this month's tier birthday coupons"),
                        ("instalment-run", "pay the top-up bonus instalments due")):
        s = sub.add_parser(name, help=help_)
        s.add_argument("--db", required=True)
        s.add_argument("--at", required=True, help="the moment the run acts for, e.g. 2027-05-01T06:00")
        s.add_argument("--store", default="hq", help="the store head office's own transactions are booked to")
        s.add_argument("--timezone", default="Asia/Shanghai")


RUNS = {"birthday-run": birthday_run, "instalment-run": instalment_run}


def run(args, db) -> list[dict]:
    return RUNS[args.command](Ingest(db, timezone=args.timezone), at=args.at, store_id=args.store)
