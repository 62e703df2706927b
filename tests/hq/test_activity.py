"""Member activity, campaign effect and the charts (drawn with the Chinese font)."""
from __future__ import annotations

from datetime import date

import pytest

from sync.hq.cli import main
from sync.hq.db import Db
from sync.hq.generate import ChainSpec, generate
from sync.hq.reports.activity import activity, campaign
from sync.hq.reports.period import parse_period
from sync.hq.reports.summary import summary


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    db = Db(f"sqlite:///{tmp_path_factory.mktemp('act') / 'hq.db'}")
    generate(db, ChainSpec(members=300, days=60, start=date(2026, 1, 1), seed=5))
    yield db
    db.close()


def test_activity_figures_agree_with_the_summary(generated):
    period = parse_period("2026-02")
    data = activity(generated.conn, period, dormant_days=30, top=5)
    month = summary(generated.conn, period)
    assert sum(map(sum, data["hour_of_week"])) == month["chain"]["purchases"]
    assert sum(s["lines"] for s in data["skus"]) == month["chain"]["purchases"]       # one line each
    assert sum(c["gross_fen"] for c in data["categories"]) == month["chain"]["gross_fen"]
    assert data["active"] + data["dormant"] == data["members"] and data["active"] >= data["buyers_in_period"]
    assert [t["tier"] for t in data["tiers"]] == ["registered", "normal", "silver", "gold"]
    spends = [m["spend_fen"] for m in data["top_members"]]
    assert len(spends) == 5 and spends == sorted(spends, reverse=True)


def test_campaign_compares_with_the_days_before(generated):
    data = campaign(generated.conn, parse_period("2026-02-01..2026-02-14"))
    assert data["before"]["period"] == "2026-01-18..2026-01-31" and data["days"] == 14
    before = summary(generated.conn, parse_period("2026-01-18..2026-01-31"))["chain"]
    assert data["before"]["purchases"] == before["purchases"]
    assert data["change"]["purchases"]["delta"] == data["during"]["purchases"] - before["purchases"]
    assert len(data["during"]["daily_payable_fen"]) == 14


@pytest.mark.parametrize("argv", [["summary", "2026-02"], ["activity", "2026-02"],
                                  ["campaign", "2026-02-01..2026-02-14"]])
def test_reports_draw_png_charts_in_chinese(generated, tmp_path, argv, capsys):
    png = tmp_path / "chart.png"
    assert main(["report", *argv, "--db", generated.url, "--png", str(png), "--lang", "zh"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    import matplotlib.pyplot as plt
    assert plt.rcParams["font.family"] == ["WenQuanYi Micro Hei"]
    assert capsys.readouterr().out


def test_bad_period_is_a_usage_error(generated, capsys):
    assert main(["report", "summary", "2026-13", "--db", generated.url, "--json"]) == 2
    assert "is not a day" in capsys.readouterr().out
