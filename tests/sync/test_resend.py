"""Kiosk resends against a real Mosquitto and hub: a hub that is slow to confirm gets the oldest
unconfirmed batch again, never the whole window (the resend storm of issue 15)."""
from .conftest import confirmed_all, wait_for


def test_a_hub_slow_to_confirm_does_not_receive_the_window_again(broker, start_hub, make_kiosk, start_agent):
    kiosk = make_kiosk("k1")
    kiosk.register(name="Zhou Yu", phone="13800007777", card_id="C1", operator="admin")
    while len(kiosk.journal()) < 20:
        kiosk.topup("C1", 100, operator="admin")           # 20 records: a window of 4 batches of 5
    hub = start_hub(broker.url)
    wait_for(lambda: hub.probed.is_set(), what="the hub subscribed")
    with hub.lock:          # the hub is busy: nothing is applied or confirmed while the kiosk waits
        agent = start_agent(kiosk, broker.url, batch=5, window=4, timeout=0.2)
        wait_for(lambda: hub.batches.qsize() >= 5, what="the window and a resend queued at the hub")
        wait_for(lambda: agent.sender.timeout >= 0.8, what="the kiosk backing off")
    wait_for(lambda: confirmed_all(kiosk), what="everything confirmed")
    # the resends were queued behind the originals: the last original's ack can come before they are handled
    wait_for(lambda: hub.stats["records"] > 20 and hub.batches.empty(), what="the queued resends handled")
    assert hub.stats["applied"] == 20
    resent = hub.stats["records"] - 20
    assert 0 < resent <= 10, f"{resent} records resent: the oldest batch at most twice, never the window"
