"""Envelopes: every payload is versioned JSON, checked against the schemas in ``sync/schemas``.

Decoding is the single gate for anything received: too large, nested too deep, not JSON, a float
or an over-long integer anywhere (money and points are integers), wrong envelope, a type not
expected on this topic, a missing or bad head-office signature, or a body that fails its schema ->
:class:`Dropped` with the reason. Size and depth are checked before the JSON parser sees the bytes,
so a hostile payload costs a few scans in C (at most ``MAX_DEPTH`` + 2) and can never raise anything but Dropped.
"""
from __future__ import annotations

import json
import re
import uuid
from functools import cache
from importlib import resources
from typing import Callable

import fastjsonschema

from kiosk.ledger.clock import Clock, from_env
from kiosk.ledger.dates import to_utc_text

from .signing import Signer, Verifier

SCHEMA_BASE = "https://schemas.kiosk.invalid/sync/v1/"
MAX_PAYLOAD = 8 * 1024 * 1024
MAX_DEPTH = 32            # our deepest message (a batch's record's effect's field) is under 10
MAX_INT_DIGITS = 19       # fits a signed 64-bit integer, as PostgreSQL's BIGINT does
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')     # a JSON string, escapes included
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST = re.compile(rb"[\[{][\]}]")              # a bracket opened and closed with nothing between
_LONG_DIGITS = re.compile(rb"[0-9]{%d,}" % (MAX_INT_DIGITS + 1))
# Head office's messages that change money, rules, blocks or credentials: always signed.
SIGNED = frozenset({"ack", "response", "feed.head", "rules", "blocklist", "staff", "limits", "catalogue", "picture",
                    "alert", "notify"})


class Dropped(ValueError):
    """A payload that must be logged and ignored; the message says why."""


@cache
def _schemas() -> dict[str, dict]:
    """Every schema shipped in ``sync/schemas``, by its ``$id``."""
    folder = resources.files("sync") / "schemas"
    docs = [json.loads(p.read_text()) for p in folder.iterdir() if p.name.endswith(".json")]
    return {d["$id"]: d for d in docs}


def _own_schema(uri: str) -> dict:
    """Resolve a ``$ref`` to another of our schemas; never fetch anything from the network."""
    try:
        return _schemas()[uri]
    except KeyError:
        raise Dropped(f"unknown schema {uri}") from None


def schema(name: str) -> dict:
    """One of our schemas as shipped (references not resolved)."""
    return _schemas()[SCHEMA_BASE + name + ".json"]


@cache
def validator(name: str) -> Callable[[object], object]:
    """The schema compiled to Python by fastjsonschema (once per process): raises
    ``JsonSchemaValueException`` at the first violation."""
    return fastjsonschema.compile(schema(name), handlers={"https": _own_schema})


def _no_floats(text: str):
    raise Dropped(f"non-integer number {text}")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise Dropped(f"integer of {len(text)} digits")
    return int(text)


def nesting(payload: bytes) -> int:
    """The deepest nesting of arrays and objects in JSON text, skipping over strings."""
    return _depth(_outside_strings(payload))


def _depth(outside: bytes) -> int:
    """:func:`nesting` of text without its strings: the brackets alone, then the innermost pairs taken away
    a level at a time (each pass one scan in C: a Python loop over every token cost a hub more CPU than
    parsing the batch it guarded)."""
    brackets = outside.translate(None, _NOT_BRACKET)
    depth = 0
    while brackets and depth <= MAX_DEPTH:
        inner = _INNERMOST.sub(b"", brackets)
        if inner == brackets:       # not balanced: count every bracket left open as a level
            return depth + inner.count(b"[") + inner.count(b"{")
        brackets, depth = inner, depth + 1
    return depth


def _outside_strings(payload: bytes) -> bytes:
    """The text with its strings taken out. Without a backslash, and with every quote closed, each
    string runs from one quote to the next: split there (the common case) instead of the regular expression."""
    if b"\\" not in payload and payload.count(b'"') % 2 == 0:
        return b"".join(payload.split(b'"')[::2])
    return _STRING.sub(b"", payload)


def parse(payload: bytes):
    """JSON from the network, or Dropped: never RecursionError, a huge-integer ValueError or a float."""
    if len(payload) > MAX_PAYLOAD:
        raise Dropped(f"payload of {len(payload)} bytes is too large")
    outside = _outside_strings(payload)
    if _depth(outside) > MAX_DEPTH:
        raise Dropped(f"nested deeper than {MAX_DEPTH}")
    # each integer is looked at only when the text has a run of digits that long outside its strings
    ints = {"parse_int": _integer} if _LONG_DIGITS.search(outside) else {}
    try:
        return json.loads(payload, parse_float=_no_floats, parse_constant=_no_floats, **ints)
    except Dropped:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:     # JSONDecodeError is a ValueError
        raise Dropped(f"not JSON: {str(exc)[:200]}") from None


def check(name: str, document: dict) -> None:
    """Raise Dropped naming the first schema violation (with its JSON path)."""
    try:
        validator(name)(document)
    except fastjsonschema.JsonSchemaValueException as error:
        where = "/".join(str(p) for p in error.path[1:]) or "(top)"
        raise Dropped(f"{name}: {where}: {error.message[:200]}") from None


class Codec:
    """Packs and unpacks envelopes; signs with ``signer`` (head office), verifies with ``verifier`` (kiosk)."""

    def __init__(self, sender: str, channel: str = "kiosk", *, signer: Signer | None = None,
                 verifier: Verifier | None = None, clock: Clock | None = None):
        self.sender, self.channel = sender, channel
        self.clock = clock or from_env()
        self.signer, self.verifier = signer, verifier

    def pack(self, type_: str, body: dict) -> bytes:
        env = {"v": 1, "type": type_, "id": str(uuid.uuid4()), "at": self.now(), "from": self.sender,
               "channel": self.channel, "body": body}
        if type_ in SIGNED:
            if self.signer is None:
                raise ValueError(f"{type_} messages must be signed: no head-office key loaded")
            self.signer.sign(env)
        return json.dumps(env, separators=(",", ":"), ensure_ascii=False).encode()

    def now(self) -> str:
        """This end's clock as protocol text (UTC, microseconds, "Z")."""
        return to_utc_text(self.clock.now())

    def unpack(self, payload: bytes, expect: frozenset[str] | set[str]) -> dict:
        """The validated envelope, or Dropped. ``expect``: the types allowed on this topic."""
        return self.validated(parse(payload), expect)

    def validated(self, env, expect: frozenset[str] | set[str]) -> dict:
        """What :meth:`unpack` returns, from what :func:`parse` made of the payload (a hub reads a batch
        once to see whether it is a resend, then validates the same document)."""
        if not isinstance(env, dict):
            raise Dropped("not a JSON object")
        check("envelope", env)
        if env["type"] not in expect:
            raise Dropped(f"type {env['type']} is not expected here")
        if env["type"] in SIGNED:
            if self.verifier is None:
                raise Dropped("no head-office key to verify with")
            problem = self.verifier.check(env)
            if problem:
                raise Dropped(f"{env['type']} from {env['from']}: {problem}")
        check(env["type"], env["body"])
        return env
