"""Personal data on the kiosk: encrypted in the member table and the journal, looked up by keyed hash,
erasable by a manager without touching balances or the journal's chain; the key file is guarded."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from kiosk.ledger import InvalidInput, Ledger, NotFound, Refused, pii, verify


def plaintext_hits(led: Ledger, *values: str) -> list[str]:
    """Values found in any table of the ledger (members, journal, member_keys...) as stored."""
    found = []
    tables = [t for (t,) in led.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        text = json.dumps(led.conn.execute(f"SELECT * FROM {table}").fetchall(), ensure_ascii=False)
        found += [f"{v} in {table}" for v in values if v in text]
    return found


def test_register_and_edit_store_ciphertext_only_and_the_old_phone_is_gone(led, member):
    assert plaintext_hits(led, "张三", "13800138000", "1990-05-17") == []
    view = led.member_view(member)
    assert (view["name"], view["phone_masked"], view["birthday"]) == ("张三", "138****8000", "1990-05-17")
    led.edit_profile(member, phone="13900139000", name="张三丰", operator="admin")
    assert plaintext_hits(led, "13800138000", "13900139000", "张三丰") == []
    assert led.member_by_phone("13900139000")["card_id"] == member
    with pytest.raises(NotFound):
        led.member_by_phone("13800138000")
    with pytest.raises(Refused, match="already registered"):
        led.register(name="B", phone="139 0013 9000", card_id="C2", operator="admin")
    assert verify(led.conn) == []


def test_registration_records_consent_without_personal_data_and_the_name_is_optional(led):
    out = led.register(phone="13512345678", card_id="C9", consent="2026-11", operator="admin")
    record = led.tx_record(out["tx_id"])
    assert record["data"] == {"privacy_notice": "2026-11"} and record["at"]      # the version and the moment
    view = led.member_view("C9")
    assert (view["name"], view["name_masked"], view["phone_masked"]) == ("", "", "135****5678")
    with pytest.raises(InvalidInput, match="privacy notice"):
        led.register(phone="13512345679", card_id="C10", consent="v1; drop", operator="admin")
    assert led.conn.execute("SELECT 1 FROM cards WHERE card_id = 'C10'").fetchone() is None
    assert verify(led.conn) == []


def test_erasure_is_a_manager_action_and_keeps_balances_and_the_chain(led, member):
    led.add_staff("c1", "Cashier", "cashier", "246810")
    led.topup(member, 10000, operator="admin")
    before = {k: led.member_view(member)[k] for k in ("principal_fen", "bonus_fen", "points", "tier")}
    journal_before = led.conn.execute("SELECT record, hash FROM journal ORDER BY seq").fetchall()
    with pytest.raises(Refused, match="needs a manager"):
        led.erase_member(member, reason="asked", operator="c1")
    with pytest.raises(Exception, match="needs a reason"):
        led.erase_member(member, reason=" ", operator="admin")
    out = led.erase_member(member, reason="member asked", operator="admin")
    view = led.member_view(member)
    assert view["erased"] and (view["name"], view["phone_masked"], view["birthday"]) == ("", "", None)
    assert {k: view[k] for k in before} == before
    assert led.conn.execute("SELECT record, hash FROM journal ORDER BY seq").fetchall()[:len(journal_before)] \
        == journal_before                              # the records stay; their ciphertext cannot be opened
    assert led.tx_record(out["tx_id"])["kind"] == "erase"
    assert led.conn.execute("SELECT data_key, phone_hash FROM member_keys").fetchall() == [(None, None)]
    with pytest.raises(NotFound):
        led.member_by_phone("13800138000")
    with pytest.raises(Refused, match="already erased"):
        led.erase_member(member, reason="again", operator="admin")
    led.topup(member, 100, operator="admin")                   # the account itself still works
    assert verify(led.conn) == []


def test_closing_a_card_does_not_erase(led, member):
    led.close_account(member, reason="moving away", operator="admin")
    view = led.member_view(member)
    assert not view["erased"] and view["name"] == "张三"


def test_keys_from_elsewhere_only_when_this_chain_key_opens_them_and_never_over_an_erasure(tmp_path, led, member):
    other = Ledger.create(tmp_path / "other.db", kiosk_id="k9", store_id="s9")      # another chain's key
    other.register(name="Eve", phone="13700137000", card_id="E1", operator="admin")
    foreign = pii.keys_for(other.conn, other.journal())
    assert led.accept_keys(foreign) == list(foreign)
    mine = pii.keys_for(led.conn, led.journal())
    member_id = led.member_for_card(member)["member_id"]
    led.erase_member(member, reason="asked", operator="admin")
    assert led.accept_keys(mine) == []                        # a resent key is ignored: the tombstone stays
    assert led.member_view(member)["erased"]
    assert led.conn.execute("SELECT data_key FROM member_keys WHERE member_id = ?", (member_id,)).fetchone() == (None,)
    other.close()


def test_key_file_and_ledger_files_are_0600_and_the_key_refused_when_open_or_missing(tmp_path, led, member):
    key_file = pii.key_file_for(led.path)
    for path in (key_file, led.path, f"{led.path}-wal"):
        assert os.stat(path).st_mode & 0o777 == 0o600, path
    led.close()
    os.chmod(key_file, 0o644)
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--db", led.path, "show", "--card", member],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "open to others (mode 0644): run chmod 600" in proc.stderr
    os.chmod(key_file, 0o600)
    os.rename(key_file, f"{key_file}.moved")
    with pytest.raises(pii.PiiKeyError, match="is missing"):
        Ledger(led.path)
    assert not key_file.exists()                               # no new key was made in its place
    pii.write_key_file(key_file)                               # a different key
    with pytest.raises(pii.PiiKeyError, match="not the one its members are encrypted with"):
        Ledger(led.path)


def test_init_takes_the_chain_key_provisioned_from_head_office(tmp_path):
    chain = tmp_path / "chain.key"
    key = pii.write_key_file(chain)
    proc = subprocess.run([sys.executable, "-m", "kiosk.cli", "--db", str(tmp_path / "k.db"), "init",
                           "--pii-key", str(chain)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert pii.read_key_file(tmp_path / "k.db.key") == key


@settings(max_examples=25, deadline=None)
@given(value=st.text(max_size=64), member_id=st.from_regex(r"M[0-9A-Z]{1,19}", fullmatch=True))
def test_a_field_opens_only_with_its_key_member_and_field(value, member_id):
    key, other = bytes(32), bytes([1]) * 32
    sealed = pii.seal_field(key, member_id, "name", value)
    assert sealed.startswith(pii.PREFIX)
    assert pii.open_field(key, member_id, "name", sealed) == value
    assert pii.open_field(other, member_id, "name", sealed) is None
    assert pii.open_field(key, member_id + "0", "name", sealed) is None
    assert pii.open_field(key, member_id, "phone", sealed) is None
    assert pii.open_field(key, member_id, "name", sealed[:-3]) is None                 # damaged: unreadable
    assert pii.open_field(key, member_id, "name", pii.PREFIX + "%%%") is None


def test_staff_see_the_name_they_serve_until_it_is_erased(led, member):
    from kiosk.ui.staff_presenter import present_staff_home
    staff = {"staff_id": "m1", "name": "Boss", "role": "manager"}
    assert present_staff_home(staff, led.member_view(member), lambda s: s, "en")["member"] == "张三  138****8000"
    led.erase_member(member, reason="asked", operator="admin")
    assert present_staff_home(staff, led.member_view(member), lambda s: s, "en")["member"] == "Personal data erased"


def test_another_stores_member_is_unreadable_until_their_tap_fetches_the_key(tmp_path, led, member):
    """A tap at another store's kiosk: the records came with the feed, the key comes with the look-up."""
    from kiosk.ui.services import read_card
    other = Ledger.create(tmp_path / "k2.db", kiosk_id="k2", store_id="s2",
                          pii_key=pii.read_key_file(pii.key_file_for(led.path)))
    for record in led.journal():
        other.ingest(record, strict=False)

    class HeadOffice:                       # answers a card look-up with the member's key, as head office does
        asked = []

        def learn_member(self, card_id):
            self.asked.append(card_id)
            return not other.accept_keys(pii.wrapped_keys(led.conn, {led.member_for_card(card_id)["member_id"]}))

    assert read_card(other, member)["view"]["unreadable"]                     # offline: no name, no key
    with pytest.raises(NotFound):
        other.member_by_phone("13800138000")
    view = read_card(other, member, head_office=HeadOffice())["view"]
    assert HeadOffice.asked == [member] and not view["unreadable"] and view["name"] == "张三"
    assert other.member_by_phone("13800138000")["card_id"] == member
    read_card(other, member, head_office=HeadOffice())
    assert HeadOffice.asked == [member]                                       # asked once, kept since
    other.close()
