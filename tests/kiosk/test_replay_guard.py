"""A replayed NTAG 424 SUN message stays refused after the kiosk restarts."""
from drivers.cards import CardVerifier, make_sun_message
from drivers.verdict import MemberCard, Refused
from kiosk.replay_guard import SqliteCounterStore

MASTER = bytes(range(16))
UID = bytes.fromhex("04DE5F1EACC040")


def verifier(store):
    return CardVerifier(accept_token=False, accept_sun=True, sun_master_key=MASTER, counters=store)


def test_counter_survives_restart_and_is_shared(tmp_path):
    db = str(tmp_path / "ledger.db")
    first = SqliteCounterStore(db)
    tap5 = make_sun_message(MASTER, UID, 5)
    assert isinstance(verifier(first).check(UID, tap5), MemberCard)
    first.close()

    after_restart = SqliteCounterStore(db)
    other_process = SqliteCounterStore(db)
    replay = verifier(after_restart).check(UID, tap5)
    assert isinstance(replay, Refused) and replay.reason == "replayed"
    assert isinstance(verifier(after_restart).check(UID, make_sun_message(MASTER, UID, 6)), MemberCard)
    assert isinstance(verifier(other_process).check(UID, make_sun_message(MASTER, UID, 6)), Refused)
    assert isinstance(verifier(other_process).check(UID, make_sun_message(MASTER, UID, 4)), Refused)


QR_SECRET = b"qr-secret"
NOW = 1_795_000_000.0          # pinned: 2026-11-19, any instant would do


def test_phone_code_stays_used_across_restarts_and_processes(tmp_path):
    """A phone QR code used once is refused after an app restart, and by another process, within its window."""
    import subprocess
    import sys

    from drivers.codes import CodeVerifier, MemberQR, make_member_qr
    from kiosk.replay_guard import SqliteQrReplay

    db = str(tmp_path / "ledger.db")
    code = make_member_qr(QR_SECRET, "M1", NOW)
    first_use = ("from drivers.codes import CodeVerifier; from kiosk.replay_guard import SqliteQrReplay;"
                 f"r = SqliteQrReplay({db!r}); v = CodeVerifier(qr_secret={QR_SECRET!r}, clock=lambda: {NOW!r},"
                 f" replay=r); print(type(v.check({code!r})).__name__); r.close()")
    proc = subprocess.run([sys.executable, "-c", first_use], capture_output=True, text=True)
    assert proc.stdout.strip() == "MemberQR", proc.stderr

    replay = SqliteQrReplay(db)                        # the app after a restart
    verifier = CodeVerifier(qr_secret=QR_SECRET, clock=lambda: NOW + 20, replay=replay)
    again = verifier.check(code)
    assert isinstance(again, Refused) and again.reason == "replayed"
    assert isinstance(verifier.check(make_member_qr(QR_SECRET, "M1", NOW + 30)), MemberQR)   # the next step is fresh
    replay.close()
