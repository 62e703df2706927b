"""Personal data (name, phone, birthday): encrypted per member, found by a keyed hash, erasable.

Keys (docs/personal-data.md):

- the **chain key** (32 random bytes): one per chain, in a key file (0600) on every kiosk and at
  head office; HKDF derives from it the *wrap key* and the *look-up key*;
- a **member data key** (AES-256) made where the member registers. Each personal field is
  ``pii1:`` + base64(nonce + AES-GCM(data key, value, aad = member id / field)), in the member
  tables, the journal records and so in every MQTT payload. The data key itself is kept only
  wrapped under the wrap key, in ``member_keys`` beside the member's look-up hash, outside the
  journal: batches and feed pages carry it next to the records, never inside one.

Erasure tombstones the member's ``member_keys`` row everywhere the erase record reaches: the
ciphertext left in journal records (which the hash chain covers) can no longer be opened, and a
key arriving again later (a resent batch) is ignored.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from . import keyed
from .errors import LedgerError
from .phones import normalise_phone

FIELDS = ("name", "phone", "birthday")
PREFIX = "pii1:"
KEY_BYTES = 32
_NONCE = 12
_KEY_TEXT = re.compile(r"[0-9a-f]{64}")
_WRAPPED = re.compile(r"[A-Za-z0-9_-]{80}")       # base64url of nonce + 32-byte key + tag
_MEMBER = re.compile(r"M[0-9A-Z]{1,19}")


class PiiKeyError(LedgerError):
    """The personal-data key is missing, unreadable, too open or not this ledger's."""

    def __init__(self, message: str):
        super().__init__(message, "pii_key")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- the chain key on disk -------------------------------------------------------------------------
def read_key_file(path: str | Path) -> bytes:
    """The chain key from its file (64 hex digits); refused when group or others may read it."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except FileNotFoundError:
        raise PiiKeyError(f"personal-data key file {path} does not exist") from None
    except OSError as exc:
        raise PiiKeyError(f"cannot read personal-data key file {path}: {exc.strerror}") from None
    if mode & 0o077:
        raise PiiKeyError(f"personal-data key file {path} is open to others (mode {stat.S_IMODE(mode):04o}):"
                        f" run chmod 600 {path}")
    if not _KEY_TEXT.fullmatch(text):
        raise PiiKeyError(f"personal-data key file {path} must hold 64 hex digits")
    return bytes.fromhex(text)


def write_key_file(path: str | Path, key: bytes | None = None) -> bytes:
    """Make a new key file (0600 from the start; never overwrites one); a random key by default."""
    key = key if key is not None else os.urandom(KEY_BYTES)
    if len(key) != KEY_BYTES:
        raise PiiKeyError(f"a personal-data key is {KEY_BYTES} bytes")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex() + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return key


def key_file_for(db_path: str | Path) -> Path:
    """Where a ledger's key file lives: beside it (``ledger.db`` -> ``ledger.db.key``)."""
    return Path(f"{db_path}.key")


def load_or_make(path: str | Path, key: bytes | None = None) -> bytes:
    """The key in ``path``; made (from ``key`` or at random) when there is none yet."""
    if not Path(path).exists():
        try:
            return write_key_file(path, key)
        except FileExistsError:
            pass
    found = read_key_file(path)
    if key is not None and key != found:
        raise PiiKeyError(f"{path} already holds a different personal-data key (left unchanged)")
    return found


def ledger_key(conn, path: str | Path, given: bytes | None) -> bytes:
    """The chain key of the ledger at ``path``: ``given`` (provisioned) or its key file, made for a ledger
    that has never had one; a ledger whose key file is gone is refused rather than given a new key."""
    key_file = key_file_for(path)
    if given is None and not key_file.exists() and conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone() and conn.execute(
            "SELECT 1 FROM meta WHERE key = 'pii_key_check'").fetchone():
        raise PiiKeyError(f"personal-data key file {key_file} is missing: copy it with the ledger"
                          " (or provision the chain key)")
    return load_or_make(key_file, given)


# -- the keys ------------------------------------------------------------------------------------
class Keyring:
    """What the chain key opens: member data keys (wrapped) and phone look-up hashes."""

    def __init__(self, chain_key: bytes):
        if len(chain_key) != KEY_BYTES:
            raise PiiKeyError(f"a personal-data key is {KEY_BYTES} bytes")
        self._wrap = AESGCM(self._derive(chain_key, b"member data key wrap"))
        self._lookup = self._derive(chain_key, b"phone look-up")
        self.check = self._derive(chain_key, b"key check").hex()[:16]

    @staticmethod
    def _derive(key: bytes, info: bytes) -> bytes:
        return HKDF(hashes.SHA256(), KEY_BYTES, salt=None, info=b"kiosk pii v1: " + info).derive(key)

    def wrap(self, member_id: str, data_key: bytes) -> str:
        nonce = os.urandom(_NONCE)
        return _b64(nonce + self._wrap.encrypt(nonce, data_key, member_id.encode()))

    def unwrap(self, member_id: str, wrapped: str | None) -> bytes | None:
        """The member's data key, or None (erased, unknown, or wrapped under another chain key)."""
        if not wrapped or not _WRAPPED.fullmatch(wrapped):
            return None
        raw = _unb64(wrapped)
        try:
            return self._wrap.decrypt(raw[:_NONCE], raw[_NONCE:], member_id.encode())
        except InvalidTag:
            return None

    def phone_hash(self, phone: str) -> str:
        return hmac.new(self._lookup, phone.encode(), hashlib.sha256).hexdigest()


def seal_field(data_key: bytes, member_id: str, field: str, value: str | None) -> str | None:
    if value is None:
        return None
    nonce = os.urandom(_NONCE)
    return PREFIX + _b64(nonce + AESGCM(data_key).encrypt(nonce, value.encode(), f"{member_id}/{field}".encode()))


def open_field(data_key: bytes | None, member_id: str, field: str, text: str | None) -> str | None:
    """The plaintext of a sealed field; None when it cannot be opened (no key: erased). A value
    journaled before this release is plain text and comes back as it is."""
    if text is None or not text.startswith(PREFIX):
        return text
    if data_key is None:
        return None
    try:
        raw = _unb64(text[len(PREFIX):])
        return AESGCM(data_key).decrypt(raw[:_NONCE], raw[_NONCE:], f"{member_id}/{field}".encode()).decode()
    except (InvalidTag, ValueError):       # damaged or forged ciphertext reads as unreadable, never crashes
        return None


# -- member_keys: the wrapped data keys and look-up hashes (kiosk and head office) ---------------
def check_key(conn, keyring: Keyring, where: str) -> None:
    """Remember which chain key this database uses; refuse another one (a lost or swapped key file)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'pii_key_check'").fetchone()
    if row is None:
        conn.execute("INSERT INTO meta (key, value) VALUES ('pii_key_check', ?) ON CONFLICT (key) DO NOTHING",
                     (keyring.check,))
    elif row[0] != keyring.check:
        raise PiiKeyError(f"the personal-data key given for {where} is not the one its members are encrypted"
                        " with (restore the original key file)")


def data_key(conn, keyring: Keyring, member_id: str) -> bytes | None:
    row = conn.execute(keyed.DATA_KEY, (member_id,)).fetchone()
    return keyring.unwrap(member_id, row[0]) if row else None


def seal_profile(conn, keyring: Keyring, member_id: str, fields: dict, *, new: bool) -> dict:
    """``fields`` with name, phone and birthday encrypted under the member's data key (made for a new
    member, or a member from before this release); the key and the phone's look-up hash are stored in
    the caller's transaction."""
    row = None if new else conn.execute("SELECT data_key, erased FROM member_keys WHERE member_id = ?",
                                        (member_id,)).fetchone()
    if row and row[1]:
        raise LedgerError(f"member {member_id}'s personal data is erased", "erased")
    key = keyring.unwrap(member_id, row[0]) if row else None
    if key is None:
        if row and row[0]:
            raise LedgerError(f"member {member_id}'s personal data is not readable with this chain key", "pii_key")
        key = AESGCM.generate_key(bit_length=256)
        conn.execute("INSERT INTO member_keys (member_id, data_key) VALUES (?, ?) ON CONFLICT (member_id)"
                     " DO UPDATE SET data_key = excluded.data_key", (member_id, keyring.wrap(member_id, key)))
    if "phone" in fields:
        conn.execute("UPDATE member_keys SET phone_hash = ? WHERE member_id = ?",
                     (keyring.phone_hash(fields["phone"]), member_id))
    return {k: seal_field(key, member_id, k, v) if k in FIELDS else v for k, v in fields.items()}


def reveal(conn, keyring: Keyring, member: dict, keys: tuple | None = None) -> dict:
    """A member row with its personal fields decrypted. ``erased``: the member's key was destroyed; a
    member whose key never reached this device (or another chain's) reads as empty without being erased.
    ``keys``: the member's (data_key, erased) when the caller read them with the row (NULLs: none)."""
    row = keys if keys is not None else conn.execute("SELECT data_key, erased FROM member_keys WHERE member_id = ?",
                                                     (member["member_id"],)).fetchone()
    key = keyring.unwrap(member["member_id"], row[0]) if row else None
    out = dict(member)
    for field in FIELDS:
        if field in member:
            out[field] = open_field(key, member["member_id"], field, member[field])
    out["erased"] = bool(row and row[1])
    out["unreadable"] = not out["erased"] and key is None and any(
        str(member.get(f) or "").startswith(PREFIX) for f in FIELDS)     # the key is not on this device
    if "name" in member or "phone" in member:
        out["name"], out["phone"] = out.get("name") or "", out.get("phone") or ""
    return out


def reveal_row(conn, keyring: Keyring, member_id: str, fields: dict) -> dict:
    """Some personal fields of one member, decrypted (None where erased or unreadable)."""
    return {k: v for k, v in reveal(conn, keyring, {"member_id": member_id, **fields}).items() if k in fields}


def birthdays(conn, keyring: Keyring) -> list[tuple[str, str, str]]:
    """(member_id, tier, birthday) of every active member with a readable birthday, decrypted here:
    the database cannot compare encrypted birthdays (head office's greetings and birthday runs)."""
    out = []
    for member_id, tier, sealed in conn.execute(
            "SELECT member_id, tier, birthday FROM members WHERE status = 'active' AND birthday IS NOT NULL"
            " ORDER BY member_id").fetchall():
        birthday = reveal_row(conn, keyring, member_id, {"birthday": sealed})["birthday"]
        if birthday:
            out.append((member_id, tier, birthday))
    return out


def holder_by_phone(conn, keyring: Keyring, phone: str):
    """The active member whose phone is ``phone`` (E.164): (member_id, card_id) or None."""
    return conn.execute(
        "SELECT m.member_id, (SELECT card_id FROM cards c WHERE c.member_id = m.member_id"
        " ORDER BY c.status = 'active' DESC, c.issued_at DESC LIMIT 1)"
        " FROM member_keys k JOIN members m ON m.member_id = k.member_id"
        " WHERE k.phone_hash = ? AND m.status = 'active'", (keyring.phone_hash(phone),)).fetchone()


def profile_members(record: dict) -> set[str]:
    """Members whose personal fields a record sets (register, profile edit, import)."""
    return {e["member_id"] for e in record.get("effects", ())
            if e.get("op") in ("member.add", "member.set") and any(f in e.get("fields", e) for f in FIELDS)
            and isinstance(e.get("member_id"), str)}


def keys_for(conn, records: list[dict]) -> dict[str, str]:
    """The wrapped data keys that travel with ``records`` (those of members whose profile they set)."""
    return wrapped_keys(conn, set().union(*(profile_members(r) for r in records)) if records else set())


def wrapped_keys(conn, member_ids: set[str]) -> dict[str, str]:
    """The members' data keys as stored (wrapped); none for an erased member."""
    wanted = sorted(member_ids)
    if not wanted:
        return {}
    marks = ", ".join("?" * len(wanted))
    return {m: k for m, k in conn.execute(
        f"SELECT member_id, data_key FROM member_keys WHERE member_id IN ({marks}) AND data_key IS NOT NULL"
        " AND erased = 0",
        wanted)}


KEYS_AT_ONCE = 400      # data keys stored by one statement (two parameters each)


def accept_keys(conn, keyring: Keyring, keys: dict) -> list[str]:
    """Store data keys that arrived with records (caller's transaction). Only keys this chain key opens
    are kept, and never over a key already held or an erasure's tombstone. Returns those refused."""
    refused, kept = [], []
    for member_id, wrapped in sorted(keys.items()):
        if not (isinstance(member_id, str) and _MEMBER.fullmatch(member_id)
                and keyring.unwrap(member_id, wrapped) is not None):
            refused.append(member_id)
        else:
            kept.append((member_id, wrapped))
    for i in range(0, len(kept), KEYS_AT_ONCE):       # a statement for many keys, not one a key
        chunk = kept[i:i + KEYS_AT_ONCE]
        conn.execute(f"INSERT INTO member_keys (member_id, data_key) VALUES {', '.join(['(?, ?)'] * len(chunk))}"
                     " ON CONFLICT (member_id) DO UPDATE SET data_key = excluded.data_key"
                     " WHERE member_keys.data_key IS NULL AND member_keys.erased = 0",
                     [value for row in chunk for value in row])
        known = conn.execute(f"SELECT member_id, phone FROM members WHERE member_id IN ({', '.join('?' * len(chunk))})"
                             " ORDER BY member_id", [m for m, _ in chunk]).fetchall()
        for member_id, phone in known:     # a key after the member's records (a look-up): their phone can be found now
            index_record(conn, keyring, {"effects": [{"op": "member.add", "member_id": member_id, "phone": phone}]})
    return refused


def index_record(conn, keyring: Keyring, record: dict) -> None:
    """After applying a record made elsewhere: the look-up hash of each phone it sets."""
    for e in record.get("effects", ()):
        if e.get("op") not in ("member.add", "member.set"):
            continue
        phone = e.get("fields", e).get("phone")
        if phone is None:
            continue
        plain = open_field(data_key(conn, keyring, e["member_id"]), e["member_id"], "phone", phone)
        if plain:
            _index_phone(conn, keyring, e["member_id"], plain)


def _index_phone(conn, keyring: Keyring, member_id: str, phone: str) -> None:
    conn.execute(keyed.INDEX_PHONE, (member_id, keyring.phone_hash(phone)))


def index_plain_members(conn, keyring: Keyring, region: str) -> None:
    """Once per database: look-up hashes for members registered before this release (plain phones,
    some from before phones were stored in E.164)."""
    if conn.execute("SELECT 1 FROM meta WHERE key = 'pii_plain_indexed'").fetchone():
        return
    for member_id, phone in conn.execute(
            "SELECT member_id, phone FROM members WHERE phone NOT LIKE 'pii1:%' AND phone != ''").fetchall():
        try:
            phone = normalise_phone(phone, region)
        except LedgerError:
            pass
        _index_phone(conn, keyring, member_id, phone)
    conn.execute("INSERT INTO meta (key, value) VALUES ('pii_plain_indexed', '1') ON CONFLICT (key) DO NOTHING")


def erase(conn, member_id: str) -> None:
    """The member's data key and look-up hash destroyed; the tombstone keeps a resent key out."""
    conn.execute("INSERT INTO member_keys (member_id, erased) VALUES (?, 1)"
                 " ON CONFLICT (member_id) DO UPDATE SET data_key = NULL, phone_hash = NULL, erased = 1", (member_id,))


MEMBER_KEYS_DDL = """
CREATE TABLE IF NOT EXISTS member_keys (
    member_id TEXT PRIMARY KEY,
    data_key TEXT,
    phone_hash TEXT,
    erased INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS member_keys_phone ON member_keys (phone_hash);
DROP INDEX IF EXISTS members_phone;
"""
