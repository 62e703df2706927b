"""Topic names: one versioned root, a branch per store and source, and head office's own branch.

A *source* is anything that makes transactions: a kiosk, a web shop, a POS. Its id is unique
chain-wide because the broker's ACL confines a client by its certificate name (``%u``) to the
source level only. ``hq`` and ``ops`` are reserved and cannot be store or source ids.
"""
from __future__ import annotations

import re

ROOT = "kiosk/v1"
HQ = f"{ROOT}/hq"
OPS = f"{ROOT}/ops"
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
RESERVED = {"hq", "ops"}

# head office -> everyone, retained
RULES = f"{HQ}/rules"
BLOCKLIST = f"{HQ}/blocklist"
STAFF = f"{HQ}/staff"
LIMITS = f"{HQ}/limits"
FEED = f"{HQ}/feed"
ALERTS = f"{OPS}/alerts"
NOTIFY = f"{OPS}/notify"            # head office -> SMS / app-push gateway
NOTIFY_ACK = f"{OPS}/notify/ack"    # gateway -> head office: delivered / failed / retry


def check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value) or value in RESERVED:
        raise ValueError(f"{what} {value!r} must be 1-32 letters, digits, _ or - (not hq/ops)")
    return value


def catalogue(store: str) -> str:
    return f"{HQ}/catalogue/{check_id(store, 'store id')}"


def hub_status(hub_id: str) -> str:
    return f"{OPS}/hub/{hub_id}"


def hub_probe(hub_id: str) -> str:
    """Where a hub sends itself a message at start, through its shared subscription."""
    return f"{OPS}/probe/{hub_id}"


class SourceTopics:
    """The topics one source (kiosk, web shop, POS) publishes to and receives on."""

    def __init__(self, store: str, source: str):
        self.store, self.source = check_id(store, "store id"), check_id(source, "source id")
        base = f"{ROOT}/{store}/{source}"
        self.tx, self.ack = f"{base}/tx", f"{base}/ack"
        self.req, self.resp = f"{base}/req", f"{base}/resp"
        self.status = f"{base}/status"

    def downlinks(self) -> list[str]:
        """What a source subscribes to: its own replies and head office's retained data."""
        return [self.ack, self.resp, RULES, BLOCKLIST, STAFF, LIMITS, FEED]


# What the hub subscribes to (a shared subscription spreads these over several hubs).
ALL_TX = f"{ROOT}/+/+/tx"
ALL_REQ = f"{ROOT}/+/+/req"


def shared(group: str, topic: str) -> str:
    return f"$share/{group}/{topic}"


def parse_source(topic: str) -> tuple[str, str, str]:
    """``kiosk/v1/<store>/<source>/<leaf>`` -> (store, source, leaf); ValueError otherwise."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != ROOT:
        raise ValueError(f"not a source topic: {topic}")
    return check_id(parts[2], "store id"), check_id(parts[3], "source id"), parts[4]


def broker_acl(hub_user: str = "hq") -> str:
    """A Mosquitto ``acl_file``: the hub may use everything; a source (user name = its certificate's
    CN, via ``use_identity_as_username``) only its own topics plus head office's broadcasts."""
    return "\n".join([
        f"user {hub_user}", f"topic readwrite {ROOT}/#", "",
        f"pattern write {ROOT}/+/%u/tx", f"pattern write {ROOT}/+/%u/req",
        f"pattern readwrite {ROOT}/+/%u/status",
        f"pattern read {ROOT}/+/%u/ack", f"pattern read {ROOT}/+/%u/resp",
        f"pattern read {HQ}/#", ""])
