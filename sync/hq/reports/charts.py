"""PNG charts a manager would rather look at than read, in English or Chinese.

matplotlib with the Agg backend (no display); Chinese labels need a Simplified-Chinese font:
WenQuanYi Micro Hei (Debian ``fonts-wqy-microhei``) when installed, else matplotlib's default
(which draws CJK as boxes, so it is logged).
"""
from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402

log = logging.getLogger("sync.hq.charts")
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
WEEKDAYS = {"en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "zh": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"]}
LABELS = {
    "sales": ("Sales per day (yuan)", "每日销售额（元）"),
    "topups": ("Top-ups per day (yuan)", "每日充值（元）"),
    "purchases": ("Purchases per day", "每日消费笔数"),
    "summary": ("Business summary {period}", "经营汇总 {period}"),
    "tiers": ("Members by tier", "会员等级分布"),
    "heat": ("Purchases by hour of week", "每周各时段消费笔数"),
    "hour": ("Hour", "时"),
    "campaign": ("Campaign {period} against the {days} days before", "活动 {period} 与之前 {days} 天对比"),
    "before": ("Before", "活动前"),
    "during": ("Campaign", "活动期间"),
    "day_of_window": ("Day of the window", "窗口第几天"),
}


def _setup() -> None:
    if Path(CJK_FONT).exists():
        font_manager.fontManager.addfont(CJK_FONT)
        plt.rcParams["font.family"] = font_manager.FontProperties(fname=CJK_FONT).get_name()
    else:
        log.warning("%s is missing: Chinese labels will not render (install fonts-wqy-microhei)", CJK_FONT)
    plt.rcParams["axes.unicode_minus"] = False


def label(key: str, lang: str, **fmt) -> str:
    en, zh = LABELS[key]
    return (zh if lang == "zh" else en).format(**fmt)


def _save(fig, path: str) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def summary_chart(report: dict, path: str, lang: str = "en") -> str:
    """Trend lines: sales and top-ups per day, purchases per day."""
    _setup()
    days = list(report["days"])
    fig, (money, count) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    fig.suptitle(label("summary", lang, period=report["period"]))
    money.plot(days, [report["days"][d]["payable_fen"] / 100 for d in days], marker="o", label=label("sales", lang))
    money.plot(days, [report["days"][d]["sv_topped_up_principal_fen"] / 100 for d in days], marker="s",
               label=label("topups", lang))
    money.legend()
    money.grid(alpha=0.3)
    count.bar(days, [report["days"][d]["purchases"] for d in days], color="#4c72b0")
    count.set_ylabel(label("purchases", lang))
    count.tick_params(axis="x", rotation=60)
    if len(days) > 16:
        for i, tick in enumerate(count.get_xticklabels()):
            tick.set_visible(i % (len(days) // 12 + 1) == 0)
    return _save(fig, path)


def activity_charts(data: dict, path: str, lang: str = "en") -> str:
    """Tier bars, and the hour-of-week heat map of purchases."""
    _setup()
    fig, (tiers, heat) = plt.subplots(1, 2, figsize=(14, 5), gridspec_kw={"width_ratios": [1, 2.4]})
    names = [t["name_zh"] if lang == "zh" else t["name"] for t in data["tiers"]]
    counts = [t["members"] for t in data["tiers"]]
    tiers.bar(names, counts, color="#dd8452")
    tiers.set_title(label("tiers", lang))
    for i, count in enumerate(counts):
        tiers.annotate(str(count), (i, count), ha="center", va="bottom")
    image = heat.imshow(data["hour_of_week"], aspect="auto", cmap="YlOrRd")
    heat.set_title(label("heat", lang) + f"  {data['period']}")
    heat.set_yticks(range(7), WEEKDAYS[lang])
    heat.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    heat.set_xlabel(label("hour", lang))
    fig.colorbar(image, ax=heat)
    return _save(fig, path)


def campaign_chart(data: dict, path: str, lang: str = "en") -> str:
    """Sales per day of the campaign over those of the days before it."""
    _setup()
    fig, ax = plt.subplots(figsize=(10, 5))
    days = range(1, data["days"] + 1)
    ax.plot(days, [f / 100 for f in data["before"]["daily_payable_fen"]], marker="o", label=label("before", lang))
    ax.plot(days, [f / 100 for f in data["during"]["daily_payable_fen"]], marker="s", label=label("during", lang))
    ax.set_title(label("campaign", lang, period=data["period"], days=data["days"]))
    ax.set_ylabel(label("sales", lang))
    ax.set_xlabel(label("day_of_window", lang))
    ax.legend()
    ax.grid(alpha=0.3)
    return _save(fig, path)
