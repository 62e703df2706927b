"""Every operation that spends, as the ledger, the app and kioskctl run it, on one prepared member.

``prepare`` makes a ledger on examples/rules-full.toml (conversion, transfer and packages enabled)
whose member A holds stored value, points, a coupon and a package, while the ledger is still
standalone; ``enrol`` then makes it a chain's kiosk that heard from head office, with the given
offline limits. ``SPENDS`` maps a name to (ledger call, kioskctl arguments).
"""
from __future__ import annotations

from pathlib import Path

from kiosk.ledger import Ledger, lines_from_amount

FULL = (Path(__file__).parents[1] / "examples" / "rules-full.toml").read_text()
ZERO = {"window_hours": 24, **{unit: {"per_tx": 0, "member_day": 0, "kiosk_total": 0}
                               for unit in ("fen", "points", "uses")}}


def prepare(path: Path) -> None:
    with Ledger.create(path, kiosk_id="k1", store_id="s1", rules_text=FULL, at="2026-11-01T08:00") as led:
        for card, phone in (("A", "13800000001"), ("B", "13800000002")):
            led.register(name=f"M{card}", phone=phone, card_id=card, operator="admin", at="2026-11-01T09:00")
        led.topup("A", 100000, operator="admin", at="2026-11-01T10:00")
        led.purchase("A", lines_from_amount(300000), operator="admin", at="2026-11-02T10:00")   # 3000+ points
        led.issue_coupon("A", "V20", operator="admin", at="2026-11-02T11:00")
        led.sell_package("A", led.rules.package("WASH-10"), operator="admin", at="2026-11-02T12:00")


def enrol(path: Path, limits: dict) -> None:
    with Ledger(path) as led:
        led.set_offline_limits(limits)
        led.heard_from_head_office()


def _plan(led: Ledger):
    return led.rules.package("WASH-10")


SPENDS = {
    "points as cash": (lambda led: led.purchase("A", lines_from_amount(10000), points_cash=100, operator="admin"),
                       ["tx", "earn", "--card", "A", "--amount", "100", "--points-cash", "100"]),
    "stored value": (lambda led: led.purchase("A", lines_from_amount(1000), pay="stored-value", operator="admin"),
                     ["tx", "spend", "--card", "A", "--amount", "10"]),
    "coupon": (lambda led: led.purchase("A", lines_from_amount(10000), coupons=["V20"], operator="admin"),
               ["tx", "earn", "--card", "A", "--amount", "100", "--coupon", "V20"]),
    "printed coupon": (lambda led: led.purchase("A", lines_from_amount(10000), printed_coupons=[("V20", 7)],
                                                operator="admin"), None),
    "gift": (lambda led: led.redeem("A", "GIFT-MUG", operator="admin"),
             ["tx", "redeem", "--card", "A", "--gift", "GIFT-MUG"]),
    "package use": (lambda led: led.use_package("A", operator="admin"),
                    ["tx", "package-use", "--card", "A"]),
    "package sold from stored value": (lambda led: led.sell_package("A", _plan(led), pay="stored-value",
                                                                    operator="admin"),
                                       ["tx", "package-sell", "--card", "A", "--package", "WASH-10",
                                        "--pay", "stored-value"]),
    "points into stored value": (lambda led: led.convert_points("A", 100, operator="admin"),
                                 ["points", "convert", "--card", "A", "--points", "100"]),
    "points transfer": (lambda led: led.transfer_points("A", "B", 100, operator="admin"),
                        ["points", "transfer", "--card", "A", "--to-card", "B", "--points", "100"]),
    "closing pays out stored value": (lambda led: led.close_account("A", reason="moving away", operator="admin"),
                                      ["member", "close", "--card", "A", "--reason", "moving away"]),
}


def written(led: Ledger) -> tuple[int, int]:
    """(journal rows, offline allowances): what a refused spend must leave as it was."""
    return (led.conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0],
            led.conn.execute("SELECT COUNT(*) FROM offline_allowances").fetchone()[0])
