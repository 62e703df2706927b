"""Typed events every driver emits onto the consumer's queue.

The consumer (the UI, ``kioskctl doctor``) only ever sees these; it never touches device APIs.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field


def _now() -> float:
    return time.monotonic()


@dataclass(frozen=True)
class DeviceEvent:
    device: str                     # the configured URL, e.g. "nfc:udp:localhost:54321"
    at: float = field(default_factory=_now, compare=False)


@dataclass(frozen=True)
class CardPresented(DeviceEvent):
    uid: bytes = b""
    ndef: bytes | None = None       # raw NDEF message octets, when the tag had one
    tag_type: str = ""


@dataclass(frozen=True)
class CardRemoved(DeviceEvent):
    uid: bytes = b""


@dataclass(frozen=True)
class CodeScanned(DeviceEvent):
    text: str = ""


@dataclass(frozen=True)
class DeviceLost(DeviceEvent):
    reason: str = ""


@dataclass(frozen=True)
class DeviceBack(DeviceEvent):
    pass
