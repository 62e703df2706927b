"""``make demo``: a scripted walk through the ledger on an embedded SQLite file under ./var/,
then the touchscreen app on simulated hardware.

The ledger part prints what happened at each step, the way a cashier would read it, and ends by
proving that the balances equal the journal. Then, with a display, ``kiosk --simulate`` opens
(F12 or the "Demo panel" button presents demo cards and scans demo codes); without one, the
same app runs on a private Xvfb display through the scripted walk-through of every screen and
saves a screenshot of each under ``var/demo/``.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .demo_data import ALICE_NAME, ALICE_PHONE, STAFF, ZHANG_NAME, ZHANG_PHONE
from .ledger import Ledger, LedgerError, format_fen, lines_from_amount, verify

STEPS_AT = "2026-11-{day:02d}T{hour:02d}:00"


def _at(day: int, hour: int = 10) -> str:
    return STEPS_AT.format(day=day, hour=hour)


def run_ledger_demo(var: Path, out=sys.stdout) -> Ledger:
    """Replay the reference scenario and a tour of every kind of transaction."""
    var.mkdir(parents=True, exist_ok=True)
    db = var / "demo-ledger.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    led = Ledger.create(db, kiosk_id="demo-kiosk", store_id="demo-store", at=_at(1, 8))
    say = lambda text: print(text, file=out)  # noqa: E731
    say(f"ledger: {db}  rules: {led.rules.digest}")
    for _card, staff_id, name, role, pin in STAFF:      # so kioskctl can act as them (docs/security.md)
        led.add_staff(staff_id, name, role, pin, operator="admin", at=_at(1, 8))

    led.register(name=ZHANG_NAME, phone=ZHANG_PHONE, card_id="DEMO-0001", birthday="1990-05-17",
                 operator="admin", at=_at(2, 9))
    led.register(name=ALICE_NAME, phone=ALICE_PHONE, card_id="DEMO-0002", referrer_card="DEMO-0001",
                 operator="admin", at=_at(2, 9))
    say(f"registered {ZHANG_NAME} (card DEMO-0001) and {ALICE_NAME} (DEMO-0002, referred by {ZHANG_NAME})")

    p = led.purchase("DEMO-0001", lines_from_amount(12850), operator="admin", at=_at(2))
    say(f"Mon: {ZHANG_NAME} pays {format_fen(p['payable_fen'])}, earns {p['points_earned']} points")
    p = led.purchase("DEMO-0001", lines_from_amount(90000), operator="admin", at=_at(3))
    say(f"Tue: pays {format_fen(p['payable_fen'])}, earns {p['points_earned']}; tier is now {p['tier']}")
    p = led.purchase("DEMO-0001", lines_from_amount(20000), operator="admin", at=_at(5))
    say(f"Thu: a 200.00 purchase costs {format_fen(p['payable_fen'])} (5% off), earns {p['points_earned']}")
    p = led.purchase("DEMO-0001", lines_from_amount(10000), operator="admin", at=_at(11))
    say(f"Wed: 100.00 at double points earns {p['points_earned']}")

    t = led.topup("DEMO-0002", 50000, operator="admin", at=_at(12))
    say(f"{ALICE_NAME} tops up 500.00 and gets {format_fen(t['bonus_fen'])} bonus")
    led.issue_coupon("DEMO-0002", "C10", operator="admin", at=_at(12))
    p = led.purchase("DEMO-0002", lines_from_amount(8000), coupons=["C10"], pay="stored-value",
                     operator="admin", at=_at(12, 11))
    say(f"{ALICE_NAME} buys 80.00 with coupon C10 from stored value: pays {format_fen(p['payable_fen'])} "
        f"({format_fen(p['sv_principal_fen'])} principal + {format_fen(p['sv_bonus_fen'])} bonus), "
        f"earns {p['points_earned']}; referral gives {p['referral_points']} points to both")
    led.checkin("DEMO-0002", at=_at(12, 12))
    try:
        led.checkin("DEMO-0002", at=_at(12, 13))
    except LedgerError as exc:
        say(f"second check-in the same day refused: {exc}")
    r = led.redeem("DEMO-0001", "GIFT-MUG", operator="admin", at=_at(13))
    say(f"{ZHANG_NAME} redeems a mug for {r['points']} points; {r['stock_left']} mugs left")
    refund = led.refund(p["tx_id"], 3000, operator="admin", at=_at(13))
    say(f"refund 30.00 of {ALICE_NAME}'s purchase: {format_fen(refund['sv_principal_fen'])} principal and "
        f"{format_fen(refund['sv_bonus_fen'])} bonus back, {refund['points_taken']} points taken back")
    led.report_lost("DEMO-0001", operator="admin", at=_at(14))
    try:
        led.checkin("DEMO-0001", at=_at(14, 11))
    except LedgerError as exc:
        say(f"the lost card is refused at once: {exc}")
    led.replace_card("DEMO-0001", "DEMO-0003", operator="admin", at=_at(14, 12))
    view = led.member_view("DEMO-0003", at=_at(14, 13))
    say(f"new card DEMO-0003: {view['name_masked']}, {view['tier_name']}, {view['points']} points, "
        f"stored value {format_fen(view['principal_fen'] + view['bonus_fen'])}")
    checked = led.check()
    problems = checked["problems"]
    say(f"journal: {checked['transactions']} transactions, {led.outbox_backlog()} waiting for head office; "
        + ("balances equal the journal" if not problems else f"PROBLEMS: {problems}"))
    return led


def run_ui_walkthrough(out: Path, say=print) -> list[dict]:
    """The app under Xvfb through every screen, as a member and a cashier would use it."""
    from .ui.remote import Kiosk, virtual_display
    from .ui.tour import tour

    out.mkdir(parents=True, exist_ok=True)
    with virtual_display() as display, Kiosk(out / "run", display=display) as kiosk:
        seen = tour(kiosk, out, say=say)
    say(f"{len(seen)} screenshots in {out}/")
    return seen


def try_next(var: Path) -> str:
    """What to type after the demo: kioskctl on the demo's ledger (it knows it is kiosk demo-kiosk)."""
    ctl = Path(sys.executable).with_name("kioskctl")
    ctl = os.path.relpath(ctl) if ctl.exists() else "kioskctl"
    db = var / "demo-ledger.db"
    return "\n".join([
        "\nTry next, on the demo's ledger (see docs/kioskctl.md), as its cashier or manager (PIN 1234 / 2468):",
        f"  {ctl} --db {db} --operator cashier01 show --card DEMO-0003",
        f"  {ctl} --db {db} --operator cashier01 show --phone {ZHANG_PHONE}",
        f"  {ctl} --db {db} --operator cashier01 tx checkin --card DEMO-0003",
        f"  {ctl} --db {db} --operator manager01 audit",
        "  make test        # the whole suite",
    ])


def main(argv: list[str] | None = None) -> int:
    # Progress line by line even when piped (`make demo | tee`), not all at the end.
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(prog="kiosk-demo", description=__doc__.splitlines()[0])
    parser.add_argument("--var", default="var", help="where the demo keeps its files")
    parser.add_argument("--ledger-only", action="store_true", help="only the scripted ledger walk-through")
    parser.add_argument("--scripted", action="store_true",
                        help="run the scripted UI walk-through even when there is a display")
    args = parser.parse_args(argv)
    var = Path(args.var)
    led = run_ledger_demo(var)
    led.close()
    if args.ledger_only:
        print(try_next(var))
        return 0
    if os.environ.get("DISPLAY") and not args.scripted:
        from .app import main as kiosk_main
        print(try_next(var) + "\n\nNow the touchscreen app on simulated hardware (F12: the demo panel)...")
        return kiosk_main(["--simulate", "--var", str(var)])
    print("\nNo display: the touchscreen app on simulated hardware, scripted, under Xvfb (about 15 s):")
    run_ui_walkthrough(var / "demo")
    print(try_next(var))
    return 0


if __name__ == "__main__":
    sys.exit(main())
