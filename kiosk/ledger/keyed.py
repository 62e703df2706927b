"""Statements that read or write the rows of one member, named by the member's id or by one row's key.

The ledger runs them as any other statement. Head office serves them from its copy of a batch's members
(sync/hq/batchcopy.py) instead of a round trip each, so they are named here once and used by name.
:data:`KEYED` says, for each, what its key is: :func:`by_member` (every row it touches belongs to the
member in that parameter) or :func:`by_row` (it touches the one row of a table whose key columns those
parameters hold). A statement not listed here is always sent to the database.

The copy holds only some of a member's rows of a few tables, and the statements listed for them are
written so that those rows are all they see: :data:`LIVE` (a lot with points left, an unused coupon, a
package with uses left) and :data:`DATED` (rows on or after the moment a statement's ``since`` parameter
names: a tier window's qualifying spend, a day's check-in).
"""
from __future__ import annotations

from dataclasses import dataclass

from .holdings import valid_coupon, valid_lot

LIVE = {"lots": "remaining > 0", "coupons": "used_tx IS NULL", "packages": "remaining > 0"}
DATED = {"qualifying": "at", "checkins": "day", "sv_spends": "at"}


@dataclass(frozen=True)
class Key:
    member: int | None = None                   # the parameter holding the member id
    table: str | None = None                    # by_row: the table, and ...
    row: tuple[tuple[str, int], ...] = ()       # ... its key columns' parameters
    since: int | None = None                    # a DATED table's: the parameter its rows are read from


def by_member(index: int) -> Key:
    return Key(member=index)


def dated(table: str, member: int, since: int) -> Key:
    """A member's rows of a DATED ``table`` on or after the moment (or day) in parameter ``since``."""
    return Key(member=member, table=table, since=since)


def by_row(table: str, **columns: int) -> Key:
    return Key(table=table, row=tuple(columns.items()))


MEMBER_BY_CARD = ("SELECT c.status, m.*, k.data_key, k.erased FROM cards c JOIN members m ON m.member_id = c.member_id"
                  " LEFT JOIN member_keys k ON k.member_id = m.member_id WHERE c.card_id = ?")
POINTS_DEBT = "SELECT points_debt FROM members WHERE member_id = ?"
STORED_VALUE = "SELECT principal_fen, bonus_fen FROM members WHERE member_id = ?"
ACTIVE_CARDS = "SELECT card_id FROM cards WHERE member_id = ? AND status = 'active'"
DATA_KEY = "SELECT data_key FROM member_keys WHERE member_id = ? AND erased = 0"
# sums are cast: PostgreSQL's SUM of a BIGINT is a NUMERIC (a Decimal), which a replay's effects must not hold
QUALIFYING_SINCE = "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM qualifying WHERE member_id = ? AND at >= ?"
CHECKED_IN = "SELECT 1 FROM checkins WHERE member_id = ? AND day = ?"
VALID_POINTS = f"SELECT CAST(COALESCE(SUM(remaining), 0) AS BIGINT) FROM lots WHERE member_id = ? AND {valid_lot()}"
LOTS_TO_DRAW = (f"SELECT lot_id, remaining FROM lots WHERE member_id = ? AND {valid_lot()}"
                " ORDER BY lot_id != ?, expires_on IS NULL, expires_on, earned_at, lot_id")
LOT_LEFT = "SELECT remaining FROM lots WHERE member_id = ? AND lot_id = ?"
COUPONS_OF_CODE = (f"SELECT coupon_id FROM coupons WHERE member_id = ? AND code = ? AND {valid_coupon()}"
                   " AND issued_at <= ? ORDER BY valid_until, coupon_id")
COUPON_USED = "SELECT used_tx FROM coupons WHERE coupon_id = ?"
PACKAGE_LEFT = "SELECT remaining FROM packages WHERE package_id = ?"
SPENT_SINCE = "SELECT 1 FROM sv_spends WHERE member_id = ? AND at >= ? LIMIT 1"

ADD_MEMBER = ("INSERT INTO members (member_id, name, phone, birthday, referrer_id, joined_at, tier, tier_since)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
ADD_CARD = "INSERT INTO cards (card_id, member_id, status, issued_at) VALUES (?, ?, ?, ?)"
SET_CARD_STATUS = "UPDATE cards SET status = ? WHERE card_id = ?"
INDEX_PHONE = ("INSERT INTO member_keys (member_id, phone_hash) VALUES (?, ?) ON CONFLICT (member_id)"
               " DO UPDATE SET phone_hash = excluded.phone_hash WHERE member_keys.erased = 0")
ADD_STORED_VALUE = ("UPDATE members SET principal_fen = principal_fen + ?, bonus_fen = bonus_fen + ?"
                    " WHERE member_id = ?")
ADD_DEBT = "UPDATE members SET points_debt = points_debt + ? WHERE member_id = ?"
SET_TIER = "UPDATE members SET tier = ?, tier_since = ? WHERE member_id = ?"
ADD_QUALIFYING = "INSERT INTO qualifying (member_id, at, tx_id, amount) VALUES (?, ?, ?, ?)"
ADD_CHECKIN = "INSERT INTO checkins (member_id, day) VALUES (?, ?)"
ADD_LOT = "INSERT INTO lots (member_id, lot_id, earned_at, expires_on, points, remaining) VALUES (?, ?, ?, ?, ?, ?)"
TAKE_FROM_LOT = "UPDATE lots SET remaining = remaining - ? WHERE member_id = ? AND lot_id = ?"
ADD_COUPON = "INSERT INTO coupons (coupon_id, member_id, code, issued_at, valid_until) VALUES (?, ?, ?, ?, ?)"
USE_COUPON = "UPDATE coupons SET used_tx = ? WHERE coupon_id = ?"
ADD_PACKAGE = ("INSERT INTO packages (package_id, member_id, code, name, uses, remaining, expires_on)"
               " VALUES (?, ?, ?, ?, ?, ?, ?)")
TAKE_FROM_PACKAGE = "UPDATE packages SET remaining = remaining - ?, status = ? WHERE package_id = ?"
ADD_SPEND = "INSERT INTO sv_spends (tx_id, member_id, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"


def set_member(fields) -> str:
    """The UPDATE of a member's ``fields`` (names checked by the caller), its id the last parameter; keyed
    by that member (each new set of fields is added to :data:`KEYED` the first time it is made)."""
    fields = list(fields)
    sql = f"UPDATE members SET {', '.join(f'{k} = ?' for k in fields)} WHERE member_id = ?"
    KEYED.setdefault(sql, by_member(len(fields)))
    return sql


KEYED: dict[str, Key] = {
    MEMBER_BY_CARD: by_row("cards", card_id=0), POINTS_DEBT: by_member(0), STORED_VALUE: by_member(0),
    ACTIVE_CARDS: by_member(0), DATA_KEY: by_member(0), QUALIFYING_SINCE: dated("qualifying", 0, 1),
    CHECKED_IN: dated("checkins", 0, 1), VALID_POINTS: by_member(0), LOTS_TO_DRAW: by_member(0),
    LOT_LEFT: by_row("lots", member_id=0, lot_id=1), COUPONS_OF_CODE: by_member(0),
    COUPON_USED: by_row("coupons", coupon_id=0), PACKAGE_LEFT: by_row("packages", package_id=0),
    ADD_MEMBER: by_member(0), ADD_CARD: by_member(1), SET_CARD_STATUS: by_row("cards", card_id=1),
    INDEX_PHONE: by_member(0), ADD_STORED_VALUE: by_member(2), ADD_DEBT: by_member(1), SET_TIER: by_member(2),
    ADD_QUALIFYING: dated("qualifying", 0, 1), ADD_CHECKIN: dated("checkins", 0, 1),
    ADD_LOT: by_member(0), TAKE_FROM_LOT: by_row("lots", member_id=1, lot_id=2), ADD_COUPON: by_member(1),
    USE_COUPON: by_row("coupons", coupon_id=1), ADD_PACKAGE: by_member(1),
    TAKE_FROM_PACKAGE: by_row("packages", package_id=2), SPENT_SINCE: dated("sv_spends", 0, 1),
    ADD_SPEND: dated("sv_spends", 1, 2),
}
