"""What the kiosk app sees through the link: online status, authorization, backlog."""
from datetime import timedelta

from kiosk import config
from kiosk.ledger import lines_from_amount
from sync.kiosk_link import KioskLink

from .conftest import confirmed_all, wait_for


def link_config(tmp_path, broker_url, hq_public, kiosk_id="k1", store_id="s1"):
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[kiosk]\nid = "{kiosk_id}"\nstore_id = "{store_id}"\n[sync]\nbroker = "{broker_url}"\n'
                    f'hq_public_key = "{hq_public}"\nauth_timeout_ms = 5000\n')
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
        yes = link.authorize("CARD-L", "points", 300)
        assert (yes.approved, yes.online) == (True, True)
        no = link.authorize("CARD-L", "points", 301)
        assert (no.approved, no.online, no.reason) == (False, True, "insufficient_points")
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
        decision = link.authorize("CARD-L", "stored_value", 100)
        assert (decision.approved, decision.online, decision.reason) == (False, False, "offline_never_synced")
        assert link.authorize("NOPE", "points", 1).reason == "unknown_card"
    finally:
        link.close()
