"""The wire format: schemas ship with the package, real ledger records pass them, and anything
malformed, float-valued, mistyped or unsigned is dropped with a reason."""
from __future__ import annotations

import json
from importlib import resources

import pytest
from hypothesis import given, settings, strategies as st

from kiosk.ledger import lines_from_amount
from sync.protocol import Codec, Dropped, Signer, Verifier, check, generate, topics
from sync.protocol.envelope import MAX_DEPTH, nesting, parse, validator


@pytest.fixture
def codecs(tmp_path):
    signer = generate(tmp_path / "k.pem", tmp_path / "k.pub")
    return Codec("hq-1", "hq", signer=signer), Codec("k1", verifier=Verifier.load(tmp_path / "k.pub"))


def test_every_schema_ships_and_is_valid():
    names = [p.name for p in (resources.files("sync") / "schemas").iterdir()]
    assert {"envelope.json", "record.json", "tx.batch.json", "ack.json", "blocklist.json"} <= set(names)
    for name in names:       # each compiles (a malformed schema raises JsonSchemaDefinitionException)
        assert callable(validator(name.removesuffix(".json")))


def test_real_ledger_records_pass_the_record_schema(make_kiosk):
    k = make_kiosk("k1")
    k.register(name="Li Si", phone="13800001111", card_id="CARD-1", operator="admin")
    k.topup("CARD-1", 10000, operator="admin")
    k.purchase("CARD-1", lines_from_amount(2500), operator="admin", pay="stored-value")
    for record in k.journal():
        check("record", record)


def test_head_office_messages_must_be_signed_by_head_office(tmp_path, codecs):
    hq, kiosk = codecs
    good = hq.pack("blocklist", {"version": 2, "cards": [{"card_id": "C1", "reason": "lost"}]})
    assert kiosk.unpack(good, {"blocklist"})["body"]["version"] == 2
    other = Codec("hq-1", "hq", signer=generate(tmp_path / "x.pem", tmp_path / "x.pub"))
    forged = [other.pack("blocklist", {"version": 3, "cards": []}),                           # wrong key
              json.dumps({k: v for k, v in json.loads(good).items() if k != "sig"}).encode(),  # unsigned
              good.replace(b'"lost"', b'"found"')]                                              # tampered
    for payload in forged:
        with pytest.raises(Dropped, match="signature|unsigned|sig"):
            kiosk.unpack(payload, {"blocklist"})


@pytest.mark.parametrize("payload, reason", [
    (b"\x00\x01", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"v": 2}', "envelope"),
    (b'{"v":1,"type":"ack","id":"x","at":"now","from":"hq","channel":"hq","body":{}}', "envelope"),
])
def test_garbage_is_dropped_with_a_reason(codecs, payload, reason):
    with pytest.raises(Dropped, match=reason):
        codecs[1].unpack(payload, {"ack"})


def test_floats_and_unexpected_types_are_refused(codecs):
    hq, kiosk = codecs
    status = Codec("k1").pack("status", {"state": "online"})
    with pytest.raises(Dropped, match="not expected"):
        kiosk.unpack(status, {"ack"})
    with pytest.raises(Dropped, match="non-integer"):
        kiosk.unpack(status.replace(b'"online"}', b'"online","backlog":1.0}'), {"status"})
    with pytest.raises(Dropped, match="limits"):      # signed, but the body fails its schema
        kiosk.unpack(hq.pack("limits", {"version": 1}), {"limits"})


def test_topics_confine_ids_and_reserve_head_office_names():
    st = topics.SourceTopics("s1", "k1")
    assert st.tx == "kiosk/v1/s1/k1/tx" and topics.parse_source(st.ack) == ("s1", "k1", "ack")
    for bad in ("hq", "a/b", "+", "#", "", "k1.ui"):
        with pytest.raises(ValueError):
            topics.SourceTopics("s1", bad)
    ui = topics.SourceTopics("s1", "k1", "ui")
    assert ui.req == "kiosk/v1/s1/k1.ui/req" and topics.parse_source(ui.resp) == ("s1", "k1.ui", "resp")
    assert topics.split_identity("k1.ui") == ("k1", "ui") and topics.split_identity("k1") == ("k1", "")
    for bad in ("kiosk/v1/s1/k1.sync/tx", "kiosk/v1/s1/.ui/req", "kiosk/v1/s1/k1.ui.ui/req"):
        with pytest.raises(ValueError):
            topics.parse_source(bad)


def test_signer_round_trip_from_files(tmp_path):
    generate(tmp_path / "a.pem", tmp_path / "a.pub")
    env = Signer.load(tmp_path / "a.pem").sign({"v": 1, "body": {"x": 1}})
    assert Verifier.load(tmp_path / "a.pub").check(env) is None
    assert oct((tmp_path / "a.pem").stat().st_mode & 0o777) == "0o600"


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=40),
                     lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                     max_leaves=20)


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(["envelope", "tx.batch", "record", "ack", "request", "limits"]),
       document=_JSON | st.fixed_dictionaries({"records": st.lists(_JSON, max_size=3)}, optional={"v": _JSON}))
def test_the_compiled_validator_answers_any_json_with_ok_or_dropped(name, document):
    """Whatever a sender crafts, checking it ends in acceptance or Dropped, never another exception."""
    try:
        check(name, document)
    except Dropped as exc:
        assert str(exc).startswith(f"{name}: ")


def _depth(value) -> int:
    """Nesting of a parsed value: what :func:`nesting` must find in its text."""
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_BRACKETY = st.text(alphabet='[]{}"\\ab\n\u4e2d', max_size=12)      # strings that look like structure
_DEEP = st.recursive(st.integers() | _BRACKETY,
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_BRACKETY, inner, max_size=3),
                     max_leaves=40)


@settings(max_examples=200, deadline=None)
@given(value=_DEEP, ascii_only=st.booleans(), spaced=st.booleans())
def test_nesting_counts_only_the_structure_never_brackets_in_strings(value, ascii_only, spaced):
    text = json.dumps(value, ensure_ascii=ascii_only, indent=1 if spaced else None).encode()
    assert nesting(text) == _depth(value)


@pytest.mark.parametrize("payload, deepest", [
    (b"[" * 33 + b"]" * 33, 33),                    # one past MAX_DEPTH: refused
    (b"[" * 32 + b"]" * 32, 32),
    (b"[" * 100_000, 100_000),                      # never closed
    (b'{"a":' * 40 + b"1" + b"}" * 39, 40),        # one left open
    (b'["[[[', 4),                                  # an unclosed quote hides nothing...
    (b'["a\\"[[[", [[]]', 3),                       # ...an escaped quote does not close one
    (b'[{"a":"]]]"},[[]]]', 3),
])
def test_nesting_of_unbalanced_and_tricky_text(payload, deepest):
    """Exact up to MAX_DEPTH; past it, only "deeper" matters (the count may stop there)."""
    assert min(nesting(payload), MAX_DEPTH + 1) == min(deepest, MAX_DEPTH + 1)


def test_too_deep_is_dropped_before_parsing(codecs):
    with pytest.raises(Dropped, match="nested deeper than 32"):
        codecs[1].unpack(b'{"a":' * 33 + b"1" + b"}" * 33, {"ack"})
    with pytest.raises(Dropped, match="envelope"):         # 32 levels: parsed, then refused by the schema
        codecs[1].unpack(b'{"a":' * 32 + b"1" + b"}" * 32, {"ack"})


@pytest.mark.parametrize("payload, parsed", [
    (b'{"v":9999999999999999999}', {"v": 9999999999999999999}),         # 19 digits: BIGINT's width
    (b'{"v":-9999999999999999999}', {"v": -9999999999999999999}),
    (b'{"v":"123456789012345678901234"}', {"v": "123456789012345678901234"}),      # digits in a string
    (b'{"a\\"1":"\\"","v":[1,2,3]}', {'a"1': '"', "v": [1, 2, 3]}),
])
def test_integers_up_to_nineteen_digits_parse(payload, parsed):
    assert parse(payload) == parsed


@pytest.mark.parametrize("payload", [b'{"v":12345678901234567890}', b'{"v":-12345678901234567890}',
                                     b'{"s":"\\"","v":[1,12345678901234567890]}', b'["x",' + b"7" * 5000 + b"]"])
def test_longer_integers_are_dropped_wherever_they_are(payload):
    with pytest.raises(Dropped, match="integer of"):
        parse(payload)
