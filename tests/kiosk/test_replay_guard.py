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
