"""A realistic chain for tests, demos and benchmarks: stores, members, a year of counter work.

Members join over the period (some before it), visit at their own usual interval with weekday and
hour patterns (lunch and evening peaks, busy weekends, Wednesday double points), some stop coming
(churn), a third keep stored value and top up when it runs low, a few purchases are refunded.

Records are made exactly like a kiosk's (kind, effects, gapless per-kiosk sequence numbers) and
applied with the ledger's own effect handlers into the hub's tables, in one transaction, so the
hub's projections equal its journal. PostgreSQL is filled by generating into SQLite and bulk-copying
the tables (:func:`copy_to_postgres`): per-statement round trips would take far longer.
"""
from __future__ import annotations

import heapq
import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kiosk.ledger import REFERENCE_RULES, journal, load_rules, pii
from kiosk.ledger.apply import apply_effects
from kiosk.ledger.dates import lot_expiry, to_utc_text
from kiosk.ledger.phones import normalise_phone

from . import feedlog
from .db import Db
from .retained import Retained

HOUR_WEIGHTS = [0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 6, 8, 12, 10, 6, 5, 6, 8, 12, 13, 10, 6, 0, 0]   # open 08-22
WEEKDAY_WEIGHTS = [0.8, 0.85, 1.1, 0.9, 1.1, 1.5, 1.4]          # Monday..Sunday


@dataclass
class ChainSpec:
    stores: int = 3
    members: int = 50_000
    days: int = 365
    start: date = date(2025, 1, 1)
    visits_per_year: float = 14.0       # a typical member's purchases a year (individuals vary widely)
    churn_share: float = 0.25           # members who stop coming at some point
    stored_value_share: float = 0.3
    refund_share: float = 0.02
    seed: int = 1
    tz: str = "Asia/Shanghai"


@dataclass
class _Member:
    member_id: str
    store: str
    card: str
    sv: bool
    principal: int = 0
    bonus: int = 0
    spend: int = 0
    tier: int = 0
    first: bool = True


@dataclass
class _Writer:
    db: Db
    zone: ZoneInfo
    seqs: dict = field(default_factory=dict)
    tips: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    count: int = 0

    @staticmethod
    def new_id() -> str:
        return str(uuid.UUID(int=random.getrandbits(128), version=4))

    def write(self, kiosk: str, store: str, kind: str, moment: datetime, operator: str, member_id: str,
              effects: list[dict], data: dict, ref_tx: str | None = None, reason: str = "",
              tx_id: str | None = None) -> dict:
        seq = self.seqs[kiosk] = self.seqs.get(kiosk, 0) + 1
        record = journal.Record.build(source_id=kiosk, store_id=store, channel="kiosk", seq=seq, kind=kind,
                                      at=to_utc_text(moment), operator=operator, member_id=member_id, ref_tx=ref_tx,
                                      reason=reason, data=data, effects=effects, tx_id=tx_id or self.new_id())
        journal.seal(record, self.tips.get(kiosk, journal.GENESIS))      # hash-chained, as a kiosk does
        self.tips[kiosk] = record["hash"]
        apply_effects(self.db.conn, record, strict=False)
        self.rows.append((record, record["hash"]))
        if len(self.rows) >= 5000:
            self.flush()
        self.count += 1
        return record

    def flush(self) -> None:
        journal.append_many(self.db.conn, self.rows)
        feedlog.bulk(self.db.conn, [r["tx_id"] for r, _ in self.rows])
        self.rows.clear()


def _moment(rng: random.Random, day: date, zone: ZoneInfo) -> datetime:
    hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
    return datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), zone)


def _visits(rng: random.Random, spec: ChainSpec, joined: int) -> list[int]:
    """Day numbers (from ``spec.start``) of one member's visits: their own usual interval, weekday-weighted."""
    interval = 365 / max(0.5, rng.lognormvariate(math.log(spec.visits_per_year), 0.7))
    stop = rng.randrange(joined, spec.days) if rng.random() < spec.churn_share else spec.days
    days, day = [], joined + 1 + rng.expovariate(1 / interval) * 0.5
    while day < stop:
        whole = int(day)
        if rng.random() < WEEKDAY_WEIGHTS[(spec.start + timedelta(days=whole)).weekday()] / 1.5:
            days.append(whole)
        day += rng.expovariate(1 / interval) * 0.6 + interval * 0.4
    return days


def generate(db: Db, spec: ChainSpec) -> dict:
    """Fill an empty hub database with the chain; returns counts."""
    rng = random.Random(spec.seed)
    random.seed(spec.seed)                      # transaction ids, reproducibly
    zone = ZoneInfo(spec.tz)
    rules = load_rules(REFERENCE_RULES.read_text())
    Retained(db).set_rules(rules.source)
    stores = [f"s{i + 1}" for i in range(spec.stores)]
    kiosks = {s: [f"k{i + 1:02d}01", f"k{i + 1:02d}02"] if i == 0 else [f"k{i + 1:02d}01"] for i, s in enumerate(stores)}
    events = []                                  # (moment, kind, member index)
    members = []
    for n in range(spec.members):
        store = rng.choices(stores, [5, 3, 2, 2, 2, 2, 2, 2, 2, 2][:len(stores)])[0]
        m = _Member(f"M{n + 1:010d}", store, f"CARD{n + 1:09d}", rng.random() < spec.stored_value_share)
        members.append(m)
        joined = rng.randrange(-spec.days // 2, spec.days)
        events.append((_moment(rng, spec.start + timedelta(days=max(joined, 0)), zone), 0, n))
        for day in _visits(rng, spec, max(joined, 0)):
            events.append((_moment(rng, spec.start + timedelta(days=day), zone), 1, n))
    events.sort()
    writer = _Writer(db, zone)
    refunds: list = []            # a heap of (moment, order, purchase, member, kiosk, store)
    end = datetime.combine(spec.start + timedelta(days=spec.days), time(0), zone)
    if db.dialect == "sqlite":
        db.conn.execute("PRAGMA cache_size = -262144")     # 256 MB while filling: far fewer page reads
    with db.transaction():
        opening = datetime.combine(spec.start - timedelta(days=spec.days // 2 + 1), time(8), zone)
        for store in stores:        # each store's gift stock, as `kioskctl init` seeds it
            writer.write(kiosks[store][0], store, "stock", opening, "admin", None,
                         [{"op": "stock", "sku": g.sku, "set": g.stock} for g in rules.gifts], {})
        for moment, kind, n in [*events, (end, -1, -1)]:
            while refunds and refunds[0][0] <= moment:
                when, _, record, m, kiosk, store = heapq.heappop(refunds)
                _refund(writer, rules, m, kiosk, store, f"m{store[1:]}1", when, record)
            if kind < 0:
                break
            m = members[n]
            store = m.store if kind == 0 or rng.random() < 0.85 else rng.choice(stores)
            kiosk = rng.choice(kiosks[store])
            operator = f"c{store[1:]}{rng.randrange(1, 4)}"
            if kind == 0:
                profile = {"name": f"会员{n + 1}", "phone": normalise_phone(f"139{n + 1:08d}", "CN"),
                           "birthday": date(1960 + n % 45, n % 12 + 1, n % 28 + 1).isoformat()}
                writer.write(kiosk, store, "register", moment, operator, m.member_id, [
                    {"op": "member.add", "member_id": m.member_id, "tier": rules.tiers[0].id, "referrer_id": None,
                     **pii.seal_profile(db.conn, db.keyring, m.member_id, profile, new=True)},
                    {"op": "card.add", "card_id": m.card, "member_id": m.member_id}], {})
                continue
            amount = int(rng.lognormvariate(math.log(12000), 0.8)) // 10 * 10 + 100
            if m.sv and m.principal + m.bonus < amount:
                _topup(writer, rules, m, kiosk, store, operator, moment - timedelta(minutes=1), amount, rng)
            record = _purchase(writer, rules, m, kiosk, store, operator, moment, amount)
            if rng.random() < spec.refund_share:
                heapq.heappush(refunds, (_moment(rng, moment.date() + timedelta(days=rng.randrange(1, 10)), zone),
                                         writer.count, record, m, kiosk, store))
        writer.flush()
        for kiosk, seq in writer.seqs.items():
            db.conn.execute("INSERT INTO hq_sources (source_id, store_id, channel, hwm, last_seen, tip, sealed)"
                            " VALUES (?, ?, 'kiosk', ?, ?, ?, 1)",
                            (kiosk, "s" + str(int(kiosk[1:3])), seq, to_utc_text(end), writer.tips[kiosk]))
    return {"members": spec.members, "transactions": writer.count, "stores": stores,
            "kiosks": sorted(writer.seqs)}


def _topup(writer, rules, m: _Member, kiosk, store, operator, moment, amount, rng) -> None:
    principal = 100000 if amount > 40000 or rng.random() < 0.3 else 50000
    steps = [s for s in rules.bonus_steps if principal >= s.from_fen]
    bonus = steps[-1].bonus_fen if steps else 0
    m.principal += principal
    m.bonus += bonus
    writer.write(kiosk, store, "topup", moment, operator, m.member_id, [
        {"op": "sv", "member_id": m.member_id, "principal": principal, "bonus": bonus},
        {"op": "topup", "member_id": m.member_id, "principal": principal, "bonus": bonus}],
        {"amount_fen": principal, "bonus_fen": bonus})


def _purchase(writer, rules, m: _Member, kiosk, store, operator, moment: datetime, gross: int) -> dict:
    tier = rules.tiers[m.tier]
    discount = gross * tier.discount_percent.numerator // (100 * tier.discount_percent.denominator)
    payable = gross - discount
    sv_p = sv_b = 0
    effects = []
    if m.sv and m.principal + m.bonus >= payable:     # bonus in proportion, like split_stored_value
        sv_b = min(m.bonus, payable * m.bonus // (m.principal + m.bonus))
        sv_p = payable - sv_b
        m.principal -= sv_p
        m.bonus -= sv_b
        effects.append({"op": "sv", "member_id": m.member_id, "principal": -sv_p, "bonus": -sv_b})
    local = moment.astimezone(writer.zone)
    points = (payable - sv_b) // 100 * (2 if local.isoweekday() == 3 else 1)
    effects.append({"op": "qualify", "member_id": m.member_id, "amount": payable})
    tx_id = writer.new_id()
    lot = f"{tx_id}:p" if points else None
    if points:
        effects.append({"op": "lot.add", "lot_id": lot, "member_id": m.member_id, "points": points,
                        "expires_on": lot_expiry(rules.expiry, local.date()).isoformat()})
    effects.append({"op": "purchase", "member_id": m.member_id, "payable_fen": payable, "sv_principal_fen": sv_p,
                    "sv_bonus_fen": sv_b, "points_earned": points, "points_cash": 0, "lot_id": lot})
    m.spend += payable
    while m.tier + 1 < len(rules.tiers) and m.spend >= rules.tiers[m.tier + 1].threshold:
        effects.append({"op": "tier", "member_id": m.member_id, "tier": rules.tiers[m.tier + 1].id,
                        "previous": rules.tiers[m.tier].id})
        m.tier += 1
    sku = f"SKU-{gross % 17:02d}"
    data = {"gross_fen": gross, "tier_discount_fen": discount, "coupon_discount_fen": 0, "points_cash_points": 0,
            "points_cash_fen": 0, "payable_fen": payable, "sv_principal_fen": sv_p, "sv_bonus_fen": sv_b,
            "external_fen": payable - sv_p - sv_b, "points_earned": points,
            "pay": "stored-value" if sv_p + sv_b else "external", "coupons": [], "referral_points": 0,
            "lines": [{"amount_fen": gross, "sku": sku, "category": f"cat-{int(sku[4:]) % 5}"}]}
    return writer.write(kiosk, store, "purchase", moment, operator, m.member_id, effects, data, tx_id=tx_id)


def _refund(writer, rules, m: _Member, kiosk, store, operator, moment: datetime, purchase: dict) -> None:
    """The whole purchase back: stored value the way it came, its points taken back (debt if spent)."""
    p = next(e for e in purchase["effects"] if e["op"] == "purchase")
    effects = []
    if p["sv_principal_fen"] or p["sv_bonus_fen"]:
        effects.append({"op": "sv", "member_id": m.member_id, "principal": p["sv_principal_fen"],
                        "bonus": p["sv_bonus_fen"]})
        m.principal += p["sv_principal_fen"]
        m.bonus += p["sv_bonus_fen"]
    if p["points_earned"]:
        effects.append({"op": "lot.take", "lot_id": p["lot_id"], "member_id": m.member_id,
                        "points": p["points_earned"], "why": "refund"})
    effects += [{"op": "qualify", "member_id": m.member_id, "amount": -p["payable_fen"], "at": purchase["at"]},
                {"op": "purchase.refund", "purchase_tx": purchase["tx_id"], "fen": p["payable_fen"],
                 "points": p["points_earned"], "points_cash": 0}]
    writer.write(kiosk, store, "refund", moment, operator, m.member_id, effects,
                 {"amount_fen": p["payable_fen"], "sv_principal_fen": p["sv_principal_fen"],
                  "sv_bonus_fen": p["sv_bonus_fen"], "external_fen": p["payable_fen"] - p["sv_principal_fen"]
                  - p["sv_bonus_fen"], "points_taken": p["points_earned"], "points_cash_returned": 0},
                 ref_tx=purchase["tx_id"], reason="refund")


COPIED = ("meta", "hq_versions", "hq_sources", "journal", "hq_log", "hq_store_log", "members", "member_keys", "cards",
          "lots", "qualifying", "purchases", "topups", "sv_spends", "stock")


def copy_to_postgres(sqlite_db: Db, pg_url: str) -> Db:
    """The generated tables into an empty PostgreSQL hub database with COPY (the bulk path); the copy
    opens members' data keys with the generating database's chain key (its key file)."""
    pg = Db(pg_url, key_file=sqlite_db.key_file)
    with pg.transaction(), pg.conn.pg.cursor() as cur:
        for table in COPIED:
            # meta's schema versions stay PostgreSQL's own (SQLite keeps the ledger's in user_version)
            only = " WHERE key NOT LIKE 'schema_version:%'" if table == "meta" else ""
            columns = [d[0] for d in sqlite_db.conn.execute(f"SELECT * FROM {table} LIMIT 0").description]
            cur.execute(f"DELETE FROM {table}{only}")
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in sqlite_db.conn.execute(f"SELECT {', '.join(columns)} FROM {table}{only}"):
                    copy.write_row(row)
        cur.execute("SELECT setval(pg_get_serial_sequence('hq_log', 'hq_id'), (SELECT MAX(hq_id) FROM hq_log))")
    return pg
