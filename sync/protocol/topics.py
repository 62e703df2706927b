"""Topic names: one versioned root, a branch per store and source, and head office's own branch.

A *source* is anything that makes transactions: a kiosk, a web shop, a POS. Its id is unique
chain-wide because the broker's ACL (``broker/acl``) confines a client by its certificate name
(``%u``, also its client id) to the source level only. The source level is an *identity*: the
source's id for its sync agent, ``<id>.ui`` for its UI (questions only). ``hq`` and ``ops`` are
reserved and cannot be store or source ids.
"""
from __future__ import annotations

import re

from kiosk.ledger.pictures import check_sku

ROOT = "kiosk/v1"
HQ = f"{ROOT}/hq"
OPS = f"{ROOT}/ops"
_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
RESERVED = {"hq", "ops"}
ROLES = ("ui", "ctl")               # a source's processes besides its sync agent (the app, kioskctl): <id>.<role>
SOURCES_MOUNT = "sources/"          # mount point of the sources' listener in broker/mosquitto.conf

# head office -> everyone, retained
RULES = f"{HQ}/rules"
BLOCKLIST = f"{HQ}/blocklist"
STAFF = f"{HQ}/staff"
LIMITS = f"{HQ}/limits"
FEED = f"{HQ}/feed"                 # the chain-wide head: kiosks of earlier releases (every 60 s at most)
PICTURES = f"{HQ}/picture/+"        # one retained gift picture per SKU: picture(sku)
ALERTS = f"{OPS}/alerts"
NOTIFY = f"{OPS}/notify"            # head office -> SMS / app-push gateway
NOTIFY_ACK = f"{OPS}/notify/ack"    # gateway -> head office: delivered / failed / retry


def check_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value) or value in RESERVED:
        raise ValueError(f"{what} {value!r} must be 1-32 letters, digits, _ or - (not hq/ops)")
    return value


def check_mount(mount: str) -> str:
    """A listener's mount point as hubs give it: empty (one listener, development) or ``word/``."""
    if mount and not re.fullmatch(r"[A-Za-z0-9_-]{1,32}/", mount):
        raise ValueError(f"mount point {mount!r} must be empty or like {SOURCES_MOUNT!r}")
    return mount


def unmounted(topic: str) -> str:
    """A topic as the source named it. Mosquitto 2.0.11 (Debian 12) leaves the listener's mount point
    on what it delivers (eclipse-mosquitto#2244, fixed in 2.0.12), so a source strips it itself."""
    return topic.removeprefix(SOURCES_MOUNT)


def split_identity(identity: str) -> tuple[str, str]:
    """``k1`` -> ("k1", ""), ``k1.ui`` -> ("k1", "ui"); ValueError for anything else."""
    source, dot, role = identity.partition(".")
    if dot and role not in ROLES:
        raise ValueError(f"identity {identity!r}: a source's role must be one of {', '.join(ROLES)}")
    return check_id(source, "source id"), role


def is_identity(identity: str) -> bool:
    try:
        split_identity(identity)
    except ValueError:
        return False
    return True


def catalogue(store: str) -> str:
    return f"{HQ}/catalogue/{check_id(store, 'store id')}"


def feed_head(store: str) -> str:
    """The head of a store's feed: retained, published when that store's feed moved."""
    return f"{FEED}/{check_id(store, 'store id')}"


def picture(sku: str) -> str:
    """A gift's picture: the SKU is a topic level, so it is one (no ``/``, ``+`` or ``#``)."""
    return f"{HQ}/picture/{check_sku(sku)}"


def hub_status(hub_id: str) -> str:
    return f"{OPS}/hub/{hub_id}"


def hub_probe(hub_id: str) -> str:
    """Where a hub sends itself a message at start, through its shared subscription."""
    return f"{OPS}/probe/{hub_id}"


class SourceTopics:
    """The topics one source (kiosk, web shop, POS) publishes to and receives on; with ``role``
    (``ui``), those of that process of the source, which connects as ``<source>.<role>``."""

    def __init__(self, store: str, source: str, role: str = ""):
        self.store, self.source = check_id(store, "store id"), check_id(source, "source id")
        self.identity = f"{source}.{role}" if role else source
        split_identity(self.identity)
        base = f"{ROOT}/{store}/{self.identity}"
        self.tx, self.ack = f"{base}/tx", f"{base}/ack"
        self.req, self.resp = f"{base}/req", f"{base}/resp"
        self.status = f"{base}/status"

    def downlinks(self) -> list[str]:
        """What a source subscribes to: its own replies and head office's retained data."""
        return [self.ack, self.resp, RULES, BLOCKLIST, STAFF, LIMITS, feed_head(self.store), PICTURES]


# What the hub subscribes to (a shared subscription spreads these over several hubs).
ALL_TX = f"{ROOT}/+/+/tx"
ALL_REQ = f"{ROOT}/+/+/req"
ALL_STATUS = f"{ROOT}/+/+/status"   # retained, heard by every hub (not shared): kiosks online, backlogs


def shared(group: str, topic: str) -> str:
    return f"$share/{group}/{topic}"


def parse_source(topic: str) -> tuple[str, str, str]:
    """``kiosk/v1/<store>/<identity>/<leaf>`` -> (store, identity, leaf); ValueError otherwise."""
    parts = topic.split("/")
    if len(parts) != 5 or "/".join(parts[:2]) != ROOT:
        raise ValueError(f"not a source topic: {topic}")
    split_identity(parts[3])
    return check_id(parts[2], "store id"), parts[3], parts[4]
