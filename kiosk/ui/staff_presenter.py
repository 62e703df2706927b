"""Counter-side texts: the staff home, purchase quotes, lists to pick from, the day and the devices.

Pure functions like :mod:`kiosk.ui.presenter`. A button the ledger would refuse is greyed out
instead, by the ledger's own table (:mod:`kiosk.ledger.permissions`; the ledger still checks every call).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from kiosk.ledger import permissions

from .formatting import count, day, full_day, local_time, money
from .presenter import N_, Plural, Translate, package_name, tier_name

# each staff-home button and the ledger action it leads to
ACTIONS = {"purchase": "purchase", "topup": "topup", "refund": "refund", "gifts": "redeem",
           "packages": "package_sell", "register": "register", "card": "card_lost", "undo": "topup_undo",
           "close": "close", "summary": "summary", "points": "convert"}
ROLE_NAMES = {"cashier": N_("Cashier"), "manager": N_("Manager"), "technician": N_("Technician")}
STATES = {"ok": N_("working"), "missing": N_("not found"), "permission denied": N_("permission denied"),
          "busy": N_("in use by another program"), "wrong driver bound": N_("wrong driver"),
          "not responding": N_("not responding"), "starting": N_("starting"), "stopped": N_("stopped")}


def allowed(role: str | None, button: str) -> bool:
    return role is not None and permissions.allowed(role, ACTIONS[button])


def staff_line(staff: dict, _: Translate) -> str:
    return f"{staff['name']} · {_(ROLE_NAMES.get(staff['role'], staff['role']))}"


def member_line(view: dict, _: Translate, lang: str) -> str:
    return _("{tier} · {points} points").format(tier=tier_name(view, lang), points=count(view["points"]))


def member_label(member: dict, _: Translate) -> str:
    """The name staff serve and the masked phone; an erased member's data is gone, and says so."""
    if member.get("erased"):
        return _("Personal data erased")
    return f"{member['name']}  {member['phone_masked']}".strip()


def present_staff_home(staff: dict, member: dict | None, _: Translate, lang: str) -> dict:
    role = staff["role"]
    can = {f"can_{action}": allowed(role, action) and (member is not None or action in ("register", "summary"))
           for action in ACTIONS}
    data = {"staff": staff_line(staff, _), "has_member": member is not None, **can}
    if member:
        data.update(member=member_label(member, _), member_line=member_line(member, _, lang),
                    balance=money(member["principal_fen"] + member["bonus_fen"]),
                    member_detail=_("Coupons: {coupons} · Packages: {packages} · Card {card}").format(
                        coupons=len(member["coupons"]), packages=len(member["packages"]), card=member["card_id"]))
    else:
        data["prompt"] = _("Tap the member's card or scan their phone code")
    return data


def present_quote(quote: dict, _: Translate) -> list[dict]:
    """The lines of a purchase preview, in the order they are applied."""
    rows = [(_("Amount"), money(quote["gross_fen"]))]
    if quote["tier_discount_fen"]:
        rows.append((_("Tier discount"), "-" + money(quote["tier_discount_fen"])))
    if quote["coupon_discount_fen"]:
        rows.append((_("Coupon"), "-" + money(quote["coupon_discount_fen"])))
    if quote["points_cash_points"]:
        rows.append((_("Points as cash ({n} points)").format(n=count(quote["points_cash_points"])),
                     "-" + money(quote["points_cash_fen"])))
    rows.append((_("Payable"), money(quote["payable_fen"]), True))
    if quote["sv_principal_fen"] or quote["sv_bonus_fen"]:
        rows.append((_("Principal used"), money(quote["sv_principal_fen"])))
        rows.append((_("Bonus used"), money(quote["sv_bonus_fen"])))
    if quote["external_fen"]:
        rows.append((_("Paid at the till"), money(quote["external_fen"])))
    rows.append((_("Points earned"), "+" + count(quote["points_earned"])))
    return [{"text": row[0], "detail": row[1], "strong": len(row) > 2} for row in rows]


def present_refund_split(split: dict, _: Translate) -> list[dict]:
    """What a refund gives back, shown before the red button as the purchase preview is."""
    rows = [(_("Refund"), money(split["amount_fen"]), True)]
    if split["sv_principal_fen"] or split["sv_bonus_fen"]:
        rows.append((_("Principal back"), money(split["sv_principal_fen"])))
        rows.append((_("Bonus back"), money(split["sv_bonus_fen"])))
    if split["external_fen"]:
        rows.append((_("Back at the till"), money(split["external_fen"])))
    rows.append((_("Points taken back"), "-" + count(split["points_taken"])))
    if split["points_cash_returned"]:
        rows.append((_("Points returned"), "+" + count(split["points_cash_returned"])))
    return [{"text": row[0], "detail": row[1], "strong": len(row) > 2} for row in rows]


def present_bonus_extras(offer: dict, _: Translate) -> str:
    """The rest of a top-up's bonus beyond the stored value paid now: points, coupon, package, parts."""
    parts = [_("{n} points").format(n=count(offer["points"]))] if offer["points"] else []
    parts += [_("coupon {code}").format(code=offer["coupon"])] if offer["coupon"] else []
    parts += [_("package {code}").format(code=offer["package"])] if offer["package"] else []
    if offer["instalments"] > 1:
        parts.append(_("paid in {n} monthly parts").format(n=offer["instalments"]))
    return _("Also: {what}").format(what=_(", ").join(parts)) if parts else ""


def present_topups(history: list[dict], _: Translate, tz: ZoneInfo, lang: str, can_undo: bool) -> list[dict]:
    """Recent top-ups with an Undo button (managers only; the ledger checks the time window)."""
    topups = [h for h in history if h["kind"] == "topup"]
    return [{"text": local_time(h["at"], tz, lang), "detail": money(h["summary"]["stored_value_fen"]), "action": "undo",
             "arg": h["tx_id"], "aid": f"undo-{i}", "button": _("Undo"), "enabled": can_undo}
            for i, h in enumerate(topups)]


def present_purchases(history: list[dict], _: Translate, tz: ZoneInfo, lang: str, picked: str | None) -> list[dict]:
    """Recent purchases to pick one to refund."""
    purchases = [h for h in history if h["kind"] == "purchase"]
    return [{"text": local_time(h["at"], tz, lang), "detail": money(h["summary"]["amount_fen"] or 0),
             "action": "refund_pick", "arg": h["tx_id"], "aid": f"refund_pick-{i}",
             "button": _("Selected") if h["tx_id"] == picked else _("Select"), "enabled": True, "tone": "choice",
             "selected": h["tx_id"] == picked}
            for i, h in enumerate(purchases)]


def present_packages(packages: list[dict], plans: list[dict], _: Translate, lang: str) -> tuple[list[dict], list[dict]]:
    """The member's packages (use one count) and the plans on sale."""
    held = [{"text": package_name(p, lang), "detail": _("{left} of {uses} left, until {date}").format(
        left=p["remaining"], uses=p["uses"], date=day(p["expires_on"], lang)), "action": "use", "arg": p["package_id"],
        "aid": f"use-{p['code']}", "button": _("Use one"), "enabled": True} for p in packages]
    sale = [{"text": package_name(p, lang), "detail": _("{uses} uses, {days} days, {price}").format(
        uses=p["uses"], days=p["valid_days"], price=money(p["price_fen"])), "action": "sell", "arg": p["code"],
        "aid": f"sell-{p['code']}", "button": _("Sell"), "enabled": True} for p in plans]
    return held, sale


def present_summary(summary: dict, shift: dict[str, dict], names: dict[str, str], status: dict,
                    devices: list[tuple[str, str, str, str]], _: Translate, n_: Plural, tz: ZoneInfo,
                    lang: str) -> dict:
    """Today's figures for this kiosk (and per staff member: till / stored value) and the state of its
    readers, scanners and sync."""
    s = summary

    def counted(n: str, fen: str) -> str:
        return f"{count(s[n])} · {money(s[fen])}"
    figures = [(_("Transactions"), count(s["transactions"])),
               (_("Purchases"), counted("purchases", "sales_fen")),
               (_("Refunds"), counted("refunds", "refund_fen")),
               (_("Top-ups"), counted("topups", "topup_fen")),
               (_("Top-ups undone"), counted("topup_undos", "topup_undo_fen")),
               (_("Packages sold"), counted("package_sales", "package_sales_fen")),
               (_("Package uses"), count(s["package_uses"])),
               (_("Accounts closed"), counted("closes", "close_refund_fen")),
               (_("Cash in / out"), f"{money(s['cash_in_fen'])} / {money(s['cash_out_fen'])}"),
               (_("Stored value in / out"), f"{money(s['stored_value_in_fen'])} / {money(s['stored_value_out_fen'])}"),
               (_("Points issued"), count(s["points_issued"] + s["points_debt_repaid"])),
               (_("Points redeemed"), count(s["points_redeemed"])),
               (_("Points taken back"), count(s["points_refunded"] + s["points_adjusted_off"] + s["points_debt_added"])),
               (_("Points expired or forfeited"), count(s["points_expired"] + s["points_forfeited"])),
               (_("Gifts redeemed"), count(s["gifts"]))]
    rows = [{"text": _(kind), "detail": _(STATES.get(state, state)) + (f" ({detail})" if detail else "")}
            for kind, _url, state, detail in devices]
    rows.append({"text": _("Head office"), "detail": _("connected") if status["reachable"] else _("unreachable")})
    rows.append({"text": _("Waiting to send"), "detail": n_("{n} transaction", "{n} transactions", status["backlog"]).format(
        n=count(status["backlog"]))})
    rows.append({"text": _("Last contact"),
                 "detail": local_time(status["last_contact"], tz, lang) if status["last_contact"] else _("never")})
    corrections = status.get("corrections", [])
    for correction in corrections:
        rows.append({"text": _("Head office correction"), "detail": present_correction(correction, _)})
    acknowledge = _("Acknowledge {n} corrections").format(n=len(corrections)) if corrections else ""
    if shift:
        figures.append((_("By staff member"), _("till / stored value")))
        figures += [(names.get(staff_id, staff_id), f"{money(row['till_fen'])} / {money(row['stored_value_fen'])}")
                    for staff_id, row in sorted(shift.items())]
    rows = [{**row, "strong": False} for row in rows]
    return {"day": full_day(summary["day"], lang), "figures": [{"text": k, "detail": v, "strong": False}
                                                                for k, v in figures], "devices": rows,
            "acknowledge": acknowledge}


def present_correction(correction: dict, _: Translate) -> str:
    """One line for a correction from head office: what it was about, what was short, why it was rejected."""
    shortfalls = correction["detail"].get("shortfalls", [])
    short = ", ".join(f"{s.get('what', '?')} {s.get('short', '')}".strip() for s in shortfalls)
    kind = {"overdraft": _("double spend"), "rejected": _("rejected by head office")}.get(correction["kind"],
                                                                                        correction["kind"])
    reason = str(correction["detail"].get("reason", ""))[:80]
    return f"#{correction['seq']} {kind}" + (f" ({short})" if short else "") + (f": {reason}" if reason else "")


PRIVACY_NOTICE = N_("We keep your name, mobile number and birthday to run your membership: points, stored value, "
                    "birthday offers. They are stored encrypted, used by this store chain only, never sold, and "
                    "erased when you close your account.")
# The notice's version is what a registration records as the member's consent: change it with the text.
PRIVACY_NOTICE_VERSION = "2026-11"
MISSING = {"phone": N_("Enter an 11-digit mobile number."),
           "consent": N_("The member must agree to the privacy notice.")}


def present_register(form: dict, waiting: bool, _: Translate) -> dict:
    """The registration form's tabs, the active input, and what still stops the card being issued."""
    birthday = form["birthday"] or _("optional")
    if waiting:
        status = _("Tap a blank card on the reader now.")
    elif form["missing"]:
        status = _(MISSING[form["missing"][0]])
    else:
        status = _("Ready: press Issue a card, then tap a blank card.")
    return {**form, "waiting": waiting, "ready": not form["missing"] and not waiting, "status": status,
            "tab_phone": _("Mobile") + "\n" + (form["phone"] or "—"),
            "tab_name": _("Name") + "\n" + ((form["name"] + form["letters"]) or _("optional")),
            "tab_birthday": _("Birthday") + "\n" + birthday,
            "tab_consent": _("Privacy") + "\n" + (_("agreed") if form["consent"] else _("not yet")),
            "notice": _(PRIVACY_NOTICE)}


def shift_report(name: str, figures: dict, _: Translate) -> str:
    """What a cashier shows the manager at the shift close (交班)."""
    return _("Shift close: {name}\n{n} transactions\nTaken at the till: {till}\nPaid from stored value: {sv}\n"
             "Count the till, then confirm to sign out.").format(
        name=name, n=count(figures.get("transactions", 0)), till=money(figures.get("till_fen", 0)),
        sv=money(figures.get("stored_value_fen", 0)))
