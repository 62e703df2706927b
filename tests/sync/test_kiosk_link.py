"""What the kiosk app sees through the link: online status, its spend guard, backlog."""
from datetime import timedelta

import pytest

from kiosk import config
from kiosk.ledger import Refused, Spends, lines_from_amount
from sync.kiosk_link import KioskLink

from .conftest import confirmed_all, wait_for


def link_config(tmp_path, broker_url, hq_public, timeout_ms: int = 5000):
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[kiosk]\nid = "k1"\nstore_id = "s1"\n[sync]\nbroker = "{broker_url}"\n'
                    f'hq_public_key = "{hq_public}"\nauth_timeout_ms = {timeout_ms}\n')
    return config.load(path, environ={}, system_path=tmp_path / "none")


def test_online_kiosk_sees_head_office_and_asks_it(tmp_path, broker, hq_keys, start_hub, make_kiosk, start_agent,
                                                   clock):
    kiosk = make_kiosk("k1")
    kiosk.register(name="Sun Li", phone="13800001111", card_id="CARD-L", operator="admin")
    kiosk.purchase("CARD-L", lines_from_amount(30000), operator="admin")        # 300 points
    link = KioskLink.from_config(link_config(tmp_path, broker.url, hq_keys["public"]), kiosk.path)
    try:
        assert link.status()["online"] is False and link.status()["backlog"] == 3   # stock, register, purchase
        start_hub(broker.url)
        start_agent(kiosk, broker.url)
        wait_for(lambda: confirmed_all(kiosk), what="confirmed")
        status = link.status()
        assert status["online"] is True and status["backlog"] == 0 and status["corrections"] == 0
        wait_for(link.requester.ready.is_set, what="link subscribed")
        member = kiosk.member_for_card("CARD-L")
        no = link.guard.approve(kiosk, member, "CARD-L", Spends(points=301))
        assert (no.approved, no.online, no.reason) == (False, True, "insufficient_points")
        yes = link.guard.approve(kiosk, member, "CARD-L", Spends(points=300))
        assert (yes.approved, yes.online, bool(yes.hold)) == (True, True, True)
        later = clock.now() + timedelta(minutes=5)
        assert link.status(now=later)["online"] is False      # nothing heard for 5 minutes: offline banner
    finally:
        link.close()


def test_without_head_office_key_spends_follow_offline_limits(tmp_path, make_kiosk):
    kiosk = make_kiosk("k1")
    kiosk.register(name="Sun Li", phone="13800001111", card_id="CARD-L", operator="admin")
    cfg = config.load(None, environ={"KIOSK_ID": "k1", "KIOSK_STORE_ID": "s1"}, system_path=tmp_path / "none")
    link = KioskLink.from_config(cfg, kiosk.path)
    try:
        decision = link.guard.approve(kiosk, kiosk.member_for_card("CARD-L"), "CARD-L", Spends(stored_value_fen=100))
        assert (decision.approved, decision.online, decision.reason) == (False, False, "offline_never_synced")
    finally:
        link.close()


def test_the_apps_ledger_refuses_every_spend_past_the_offline_limits_when_head_office_is_silent(
        tmp_path, broker, hq_keys):
    """The app opens its ledger with the link's guard (KioskContext.open_ledger): no hub answers, so
    the offline limits decide, and past them nothing is written."""
    from kiosk.ui.context import KioskContext
    from tests.spending import SPENDS, ZERO, enrol, prepare, written

    prepare(tmp_path / "k.db")
    enrol(tmp_path / "k.db", ZERO)
    link = KioskLink.from_config(link_config(tmp_path, broker.url, hq_keys["public"], 100), str(tmp_path / "k.db"))
    ctx = KioskContext(db=tmp_path / "k.db", kiosk_id="k1", store_id="s1", head_office=link)
    try:
        wait_for(link.requester.ready.is_set, what="link subscribed")
        with ctx.open_ledger() as led:
            before = written(led)
            for name, (spend, _) in sorted(SPENDS.items()):
                with pytest.raises(Refused, match="offline_limit_per_transaction"):
                    spend(led)
            assert written(led) == before
    finally:
        link.close()
