"""The app with its head-office link: spends ask head office (here unreachable, never synced, so the
offline rules refuse them), earning still works, and head office's corrections reach the staff."""
from __future__ import annotations

import socket

import pytest

from kiosk import demo_data as demo
from sync.local import SyncState
from sync.protocol import generate


@pytest.fixture
def offline_kiosk(start, tmp_path):
    generate(tmp_path / "hq.pem", tmp_path / "hq.pub")
    with socket.socket() as s:                   # a port nobody listens on: head office is unreachable
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return start(sync={"hq_public_key": str(tmp_path / "hq.pub"), "broker": f"mqtt://127.0.0.1:{port}",
                       "auth_timeout_ms": 300})


def test_offline_never_synced_kiosk_refuses_spends_but_still_earns(offline_kiosk, ledger_of):
    ledger = ledger_of(offline_kiosk)
    card = demo.ALICE.card_id
    before = ledger.member_view(card)
    offline_kiosk.sign_in(demo.CASHIER, "1234")
    offline_kiosk.tap(demo.ALICE)
    offline_kiosk.press("purchase")
    offline_kiosk.keys("30")
    offline_kiosk.press("pay-stored-value", "confirm")
    assert "尚未连上总部：暂不能离线使用积分、储值或优惠券。" in offline_kiosk.text()
    assert ledger.member_view(card)["principal_fen"] == before["principal_fen"]
    offline_kiosk.press("notice-ok")
    offline_kiosk.press("pay-external", "confirm")           # paid at the till: earning works offline
    assert "已支付 ¥30.00" in offline_kiosk.text()
    assert ledger.member_view(card)["points"] == before["points"] + 30


def test_head_office_corrections_are_shown_until_acknowledged(offline_kiosk, ledger_of):
    ledger = ledger_of(offline_kiosk)
    state = SyncState(ledger)
    with state.write() as conn:
        conn.execute("INSERT INTO sync_corrections (tx_id, seq, kind, detail, received_at) VALUES"
                     " ('tx-1', 7, 'overdraft', '{\"shortfalls\": [{\"what\": \"points\", \"short\": 60}]}', 'now')")
    offline_kiosk.sign_in(demo.MANAGER, "2468")
    offline_kiosk.press("summary")
    shown = offline_kiosk.text()
    assert "总部更正" in shown and "#7 重复消费 (points 60)" in shown
    offline_kiosk.press("ack-corrections")
    offline_kiosk.wait_for(lambda s: "#7 重复消费 (points 60)" not in "\n".join(s["texts"]))
    assert state.corrections() == [] and len(state.corrections(unacknowledged=False)) == 1
