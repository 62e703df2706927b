"""Member-facing texts: turns ledger views into the strings and lists the screens show.

Pure functions of (data, translate, language): no Kivy, no ledger calls, so they are cheap
to call again when the language changes. ``N_`` marks texts translated later by ``_``.
"""
from __future__ import annotations

from typing import Callable
from zoneinfo import ZoneInfo

from .formatting import count, day, local_time, money, signed_count, signed_money, weekday

Translate = Callable[[str], str]
Plural = Callable[[str, str, int], str]          # ngettext: (singular, plural, n)


def N_(msgid: str) -> str:
    return msgid


KINDS = {
    "register": N_("Joined"), "purchase": N_("Purchase"), "refund": N_("Refund"),
    "checkin": N_("Daily check-in"), "redeem": N_("Gift redeemed"), "topup": N_("Top-up"),
    "topup_undo": N_("Top-up undone"), "package_sell": N_("Package bought"), "package_use": N_("Package used"),
    "coupon_issue": N_("Coupon received"), "card_lost": N_("Card reported lost"),
    "card_replace": N_("Card replaced"), "close": N_("Account closed"), "adjust": N_("Points adjusted"),
    "expire": N_("Points expired"), "tier": N_("Tier changed"), "profile": N_("Profile updated"),
    "receipt_claim": N_("Receipt points"),
}


def tier_name(view: dict, lang: str, key: str = "tier_name") -> str:
    return view.get(f"{key}_zh" if lang == "zh_CN" else key) or view.get(key) or ""


def min_spend(coupon: dict, _: Translate) -> str:
    return _("min. spend {amount}").format(amount=money(coupon["min_spend_fen"])) if coupon.get("min_spend_fen") else ""


def coupon_terms(coupon: dict, _: Translate, with_min_spend: bool = True) -> str:
    """A coupon's terms in the member's language (the rules only name coupons in one)."""
    kind = coupon.get("kind")
    if kind == "percent":
        text = _("{percent} off").format(percent=f"{coupon['percent']}%")
        if coupon.get("cap_fen"):
            text += _(", up to {cap}").format(cap=money(coupon["cap_fen"]))
    elif kind == "threshold":
        text = _("{off} off from {threshold}").format(off=money(coupon["off_fen"]),
                                                      threshold=money(coupon["threshold_fen"]))
    elif kind == "voucher":
        text = _("{value} voucher").format(value=money(coupon["value_fen"]))
    else:
        return coupon.get("name", coupon.get("code", ""))
    if with_min_spend and coupon.get("min_spend_fen"):
        text += _(" (min. spend {amount})").format(amount=money(coupon["min_spend_fen"]))
    return text


def _tier_progress(view: dict, lang: str, _: Translate) -> tuple[float, str]:
    if not view.get("next_tier"):
        return 1.0, _("Top tier reached")
    missing = view["next_tier_missing"]
    threshold = view.get("next_tier_threshold") or 1
    amount = money(missing) if view.get("tier_basis", "spend") == "spend" else _("{n} points").format(n=count(missing))
    text = _("{amount} more to {tier}").format(amount=amount, tier=tier_name(view, lang, "next_tier_name"))
    return min(1.0, max(0.0, view["qualifying"] / threshold)), text


def package_name(package: dict, lang: str) -> str:
    """A package plan's or a held package's name in the UI language (the rules' ``name_en`` in English)."""
    return (package.get("name_en") or package["name"]) if lang == "en" else package["name"]


def history_rows(history: list[dict], _: Translate, tz: ZoneInfo, lang: str) -> list[dict]:
    rows = []
    for item in history:
        summary = item["summary"]
        changes = []
        if summary["points"]:
            changes.append(_("{n} pts").format(n=signed_count(summary["points"])))
        if summary["stored_value_fen"]:
            changes.append(signed_money(summary["stored_value_fen"]))
        if item["kind"] == "purchase" and summary.get("amount_fen") is not None:
            changes.append(_("paid {amount}").format(amount=money(summary["amount_fen"])))
        if item["kind"] == "package_use" and item.get("remaining") is not None:
            name = package_name({"name": item.get("package", ""), "name_en": item.get("package_en")}, lang)
            changes.append(_("{package}: {left} left").format(package=name or _("package"),
                                                             left=item["remaining"]))
        rows.append({"text": f"{local_time(item['at'], tz, lang)}  {_(KINDS.get(item['kind'], item['kind']))}",
                     "detail": "  ".join(changes)})
    return rows


def present_member(view: dict, _: Translate, lang: str, tz: ZoneInfo) -> dict:
    """Everything the member home screen shows, as display strings."""
    progress, next_text = _tier_progress(view, lang, _)
    expiring = ""
    if view["points_expiring"]:
        expiring = _("{n} points expire on {date}").format(n=count(view["points_expiring"]),
                                                           date=day(view["points_expiring_on"], lang))
    checkin_points = view.get("checkin_points", 0)
    return {
        "name": view["name_masked"],
        "greeting": _("Birthday month: double points!") if view["birthday_month"] else "",
        "tier": tier_name(view, lang),
        "tier_progress": progress,
        "tier_next": next_text,
        "points": count(view["points"]),
        "points_debt": _("Points owed: {n}").format(n=count(view["points_debt"])) if view["points_debt"] else "",
        "expiring": expiring,
        "balance": money(view["principal_fen"] + view["bonus_fen"]),
        "principal": _("Principal {amount}").format(amount=money(view["principal_fen"])),
        "bonus": _("Bonus {amount}").format(amount=money(view["bonus_fen"])),
        "coupons": [{"text": coupon_terms(c, _, with_min_spend=False),
                     "detail": " · ".join(filter(None, (min_spend(c, _),
                                                        _("until {date}").format(date=day(c["valid_until"], lang)))))}
                    for c in view["coupons"]],
        "packages": [{"text": package_name(p, lang), "detail": _("{left} of {uses} left, until {date}").format(
            left=p["remaining"], uses=p["uses"], date=day(p["expires_on"], lang))} for p in view["packages"]],
        "history": history_rows(view["history"], _, tz, lang),
        "checked_in": view["checked_in_today"],
        "checkin": _("Checked in today") if view["checked_in_today"]
        else _("Check in +{n}").format(n=checkin_points),
    }


def present_gifts(gifts: list[dict], points: int | None, _: Translate, n_: Plural, lang: str,
                  can_redeem: bool) -> list[dict]:
    """Catalogue rows: what each gift costs, the stock, and whether this member can afford it."""
    rows = []
    for gift in gifts:
        affordable = points is not None and points >= gift["points"]
        if gift["stock"] <= 0:
            note = _("Out of stock")
        elif points is None or affordable:
            note = ""
        else:
            missing = gift["points"] - points
            note = n_("{n} point short", "{n} points short", missing).format(n=count(missing))
        rows.append({"text": gift["name_zh"] if lang == "zh_CN" else gift["name"],
                     "picture": gift.get("picture", ""), "pictured": True,
                     # one line a portrait screen can hold: what stops the member, else the stock
                     "detail": note or _("{stock} in stock").format(stock=gift["stock"]),
                     "figure": _("{n} points").format(n=count(gift["points"])),
                     "note": "", "action": "redeem", "arg": gift["sku"], "aid": f"redeem-{gift['sku']}",
                     "button": _("Redeem") if can_redeem else "",
                     "enabled": can_redeem and affordable and gift["stock"] > 0})
    return rows


def present_campaigns(campaigns: list[dict], _: Translate, lang: str) -> str:
    """Today's points campaigns in one or two lines for the attract screen ('' when there are none)."""
    lines = []
    for c in campaigns:
        if c["kind"] == "birthday":
            text = _("Birthday month: points ×{factor} all month").format(factor=c["factor"])
        elif c["kind"] == "weekday":
            text = _("Today is {weekday}: points ×{factor}").format(weekday=weekday(c["weekday"], lang),
                                                                   factor=c["factor"])
        elif c["kind"] == "member_day":
            text = _("Member day: points ×{factor} today").format(factor=c["factor"])
        else:
            text = _("Points ×{factor} until {date}").format(factor=c["factor"], date=day(c["until"], lang)) \
                if c["until"] else _("Points ×{factor} today").format(factor=c["factor"])
        if c.get("limited"):
            text += _(" (selected items)")
        lines.append(text)
    return "\n".join(lines)
