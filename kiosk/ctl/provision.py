"""``kioskctl provision``: a kiosk's identity and credentials onto an SD image's FAT partition.

Everything is validated before anything is written (ids, broker URL, the certificate against its
key and the CA, the certificate's name against the kiosk id, validity at the given moment). The
image is never mounted: mtools writes into the FAT partition at its offset, first into
``kiosk.partial/`` and then renamed to ``kiosk/``, so an interrupted run leaves no half-written
provisioning behind. ``kiosk-firstboot`` moves the files into /etc/kiosk and wipes them from FAT.
"""
from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.x509.oid import NameOID

from drivers.tokens import public_key_from_hex

from .. import config as config_mod
from ..ledger.clock import from_env as clock_from_env, parse_instant
from .base import EXIT_USAGE, CtlError, standalone

BOOT_DIR = "kiosk"                     # on the FAT partition
ETC = Path("/etc/kiosk")               # where kiosk-firstboot puts them, and what kiosk.toml names
CA, CERT, KEY, HQ_KEY, CONFIG, WIFI = "ca.pem", "kiosk.pem", "kiosk.key", "hq-signing.pub", "kiosk.toml", "wifi.conf"
# the identities a kiosk's other processes ask head office with (sync/authorize.py): CN <kiosk id>.<role>
ROLES = {"ui": ("kiosk-ui.pem", "kiosk-ui.key"), "ctl": ("kiosk-ctl.pem", "kiosk-ctl.key")}
SECRETS = (KEY, *(key for _, key in ROLES.values()), WIFI)
FAT_TYPES = {0x01, 0x04, 0x06, 0x0B, 0x0C, 0x0E}
SECTOR = 512


def add_parsers(top, sub) -> None:
    sp = sub(top, "provision", "write a kiosk's configuration and credentials onto an SD image (no mounting)",
             "provision")
    where = sp.add_mutually_exclusive_group(required=True)
    where.add_argument("--image", help="the SD image file (its first FAT partition is written with mtools)")
    where.add_argument("--boot", help="a mounted boot partition instead (e.g. /media/$USER/bootfs)")
    sp.add_argument("--store", required=True, help="store id")
    sp.add_argument("--kiosk", required=True, help="kiosk id, unique in the chain (never reuse a dead kiosk's)")
    sp.add_argument("--broker", required=True, help="mqtts://HOST:8883")
    sp.add_argument("--ca", required=True, help="the broker's CA certificate (PEM)")
    sp.add_argument("--cert", required=True, help="this kiosk's client certificate (PEM); its CN is the kiosk id")
    sp.add_argument("--key", required=True, help="this kiosk's private key (PEM, unencrypted)")
    sp.add_argument("--ui-cert", help="the UI's client certificate (PEM); its CN is <kiosk id>.ui (online authorization)")
    sp.add_argument("--ui-key", help="the UI's private key (PEM, unencrypted)")
    sp.add_argument("--ctl-cert", help="kioskctl's client certificate (PEM); its CN is <kiosk id>.ctl (online authorization)")
    sp.add_argument("--ctl-key", help="kioskctl's private key (PEM, unencrypted)")
    sp.add_argument("--hq-public-key", help="head office's Ed25519 signing key (PEM public key)")
    sp.add_argument("--token-public-key", metavar="HEX",
                    help="the member cards' token key, 64 hex digits ([cards] token_public_key; docs/hardware.md)")
    sp.add_argument("--wifi-ssid")
    sp.add_argument("--wifi-psk", help="WPA2 passphrase, 8-63 characters")


@dataclass
class Bundle:
    """The files that go under ``kiosk/`` on the boot partition, already validated."""
    files: dict[str, bytes]


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CtlError(f"{what} {path}: {exc.strerror}", "bad_file", EXIT_USAGE) from None


def _ident(value: str, what: str) -> str:
    try:
        return config_mod.OPTIONS["kiosk"]["id"].parse(value)
    except ValueError as exc:
        raise CtlError(f"{what} {value!r}: {exc}", "bad_id", EXIT_USAGE) from None


def _broker(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "mqtts" or not parts.hostname or not port or parts.path not in ("", "/"):
        raise CtlError(f"--broker {url!r} must look like mqtts://HOST:8883", "bad_broker", EXIT_USAGE)
    return f"mqtts://{parts.hostname}:{port}"


def check_credentials(ca_pem: bytes, cert_pem: bytes, key_pem: bytes, kiosk_id: str, at: datetime | None) -> None:
    """The certificate is the CA's, carries the kiosk id, matches the key, and is valid at *at*."""
    try:
        ca = x509.load_pem_x509_certificate(ca_pem)
        cert = x509.load_pem_x509_certificate(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise CtlError(f"cannot read the CA, certificate or key as PEM: {exc}", "bad_credentials", EXIT_USAGE) from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(serialization.Encoding.DER, public) != \
            cert.public_key().public_bytes(serialization.Encoding.DER, public):
        raise CtlError("the key does not belong to the certificate", "key_mismatch")
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        raise CtlError(f"the certificate was not issued by this CA ({ca.subject.rfc4514_string()})", "wrong_ca") from None
    names = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    if names != [kiosk_id]:
        raise CtlError(f"the certificate is for {names}, not for kiosk {kiosk_id!r}", "wrong_identity")
    for what, c in (("certificate", cert), ("CA", ca)):
        if at is not None and not c.not_valid_before_utc <= at <= c.not_valid_after_utc:
            raise CtlError(f"the {what} is valid {c.not_valid_before_utc:%Y-%m-%d %H:%M} to "
                           f"{c.not_valid_after_utc:%Y-%m-%d %H:%M} UTC, not at {at:%Y-%m-%d %H:%M}", "expired")


def _token_key(text: str) -> str:
    """The member-token public key as the kiosk's configuration holds it: checked (a kiosk with a bad one
    would refuse every member card) and written back as plain hex (``bytes.fromhex`` also takes spaces
    and line breaks, which must not reach the TOML file)."""
    try:
        key = public_key_from_hex(text)
    except ValueError:
        key = None
    if key is None:
        raise CtlError("--token-public-key: 64 hex digits of an Ed25519 public key expected", "bad_token_key",
                       EXIT_USAGE)
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def _wifi(ssid: str | None, psk: str | None) -> bytes | None:
    if ssid is None and psk is None:
        return None
    if not ssid or not psk or not 1 <= len(ssid.encode()) <= 32 or not 8 <= len(psk) <= 63 or not psk.isprintable() \
            or any(c in ssid + psk for c in '"\n\\'):
        raise CtlError("--wifi-ssid (1-32 bytes) and --wifi-psk (8-63 printable characters, no quotes) go together",
                       "bad_wifi", EXIT_USAGE)
    return (f'ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev\nupdate_config=0\n'
            f'network={{\n    ssid="{ssid}"\n    psk="{psk}"\n}}\n').encode()


def build_bundle(args, at: datetime | None) -> Bundle:
    kiosk, store, broker = _ident(args.kiosk, "--kiosk"), _ident(args.store, "--store"), _broker(args.broker)
    files = {CA: _read(args.ca, "--ca"), CERT: _read(args.cert, "--cert"), KEY: _read(args.key, "--key")}
    check_credentials(files[CA], files[CERT], files[KEY], kiosk, at)
    config = (f'# written by kioskctl provision; kiosk-firstboot moved it here\n[kiosk]\nid = "{kiosk}"\n'
              f'store_id = "{store}"\n\n[sync]\nbroker = "{broker}"\nca = "{ETC / CA}"\ncert = "{ETC / CERT}"\n'
              f'key = "{ETC / KEY}"\n')
    for role, (cert_name, key_name) in ROLES.items():
        cert, key = getattr(args, f"{role}_cert", None), getattr(args, f"{role}_key", None)
        if bool(cert) != bool(key):
            raise CtlError(f"--{role}-cert and --{role}-key go together", "bad_credentials", EXIT_USAGE)
        if cert:
            files[cert_name], files[key_name] = _read(cert, f"--{role}-cert"), _read(key, f"--{role}-key")
            check_credentials(files[CA], files[cert_name], files[key_name], f"{kiosk}.{role}", at)
            config += f'{role}_cert = "{ETC / cert_name}"\n{role}_key = "{ETC / key_name}"\n'
    if args.hq_public_key:
        files[HQ_KEY] = _read(args.hq_public_key, "--hq-public-key")
        try:
            if not isinstance(serialization.load_pem_public_key(files[HQ_KEY]), Ed25519PublicKey):
                raise ValueError("not an Ed25519 key")
        except ValueError as exc:
            raise CtlError(f"--hq-public-key: {exc}", "bad_hq_key", EXIT_USAGE) from None
        config += f'hq_public_key = "{ETC / HQ_KEY}"\n'
    if args.token_public_key:
        config += f'\n[cards]\ntoken_public_key = "{_token_key(args.token_public_key)}"\n'
    wifi = _wifi(args.wifi_ssid, args.wifi_psk)
    if wifi:
        files[WIFI] = wifi
    files[CONFIG] = config.encode()
    return Bundle(files)


# -- writing ------------------------------------------------------------------------------------
def fat_offset(image: Path) -> int:
    """Byte offset of the first FAT partition in an MBR image, or 0 for a bare FAT filesystem."""
    with open(image, "rb") as f:
        head = f.read(SECTOR)
    if len(head) < SECTOR or head[510:512] != b"\x55\xaa":
        raise CtlError(f"{image} is not a disk image (no boot sector)", "bad_image", EXIT_USAGE)
    if head[54:59] == b"FAT12" or head[54:59] == b"FAT16" or head[82:87] == b"FAT32":
        return 0
    for i in range(4):
        entry = head[446 + 16 * i: 446 + 16 * (i + 1)]
        kind, start = entry[4], struct.unpack_from("<I", entry, 8)[0]
        if kind in FAT_TYPES and start:
            return start * SECTOR
    raise CtlError(f"{image} has no FAT partition in its partition table", "bad_image", EXIT_USAGE)


def _mtools(*argv: str) -> None:
    proc = subprocess.run(list(argv), capture_output=True, text=True, env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    if proc.returncode != 0:
        raise CtlError(f"{argv[0]}: {proc.stderr.strip() or proc.stdout.strip()}", "mtools_failed")


def _fat_entries(fat: str) -> set[str]:
    proc = subprocess.run(["mdir", "-b", "-i", fat, "::/"], capture_output=True, text=True,
                          env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    return {line.strip().lower().rstrip("/") for line in proc.stdout.splitlines()}


def write_image(image: Path, bundle: Bundle) -> None:
    if shutil.which("mcopy") is None:
        raise CtlError("mtools is not installed (apt-get install mtools)", "no_mtools", EXIT_USAGE)
    fat = f"{image}@@{fat_offset(image)}"
    staged_name, final_name = f"::/{BOOT_DIR}.partial", f"::/{BOOT_DIR}"
    if staged_name in _fat_entries(fat):
        _mtools("mdeltree", "-i", fat, staged_name)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / f"{BOOT_DIR}.partial"
        staged.mkdir()
        for name, data in bundle.files.items():
            (staged / name).write_bytes(data)
        _mtools("mcopy", "-s", "-i", fat, str(staged), "::/")
    if final_name in _fat_entries(fat):
        _mtools("mdeltree", "-i", fat, final_name)
    _mtools("mren", "-i", fat, staged_name, final_name)


def write_dir(boot: Path, bundle: Bundle) -> None:
    if not boot.is_dir():
        raise CtlError(f"--boot {boot} is not a directory", "bad_boot", EXIT_USAGE)
    staged, final = boot / f"{BOOT_DIR}.partial", boot / BOOT_DIR
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir()
    for name, data in bundle.files.items():
        with open(staged / name, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(staged, final)


@standalone("provision")
def provision(args, cfg) -> dict:
    try:
        at = parse_instant(args.at) if args.at else clock_from_env().now()
    except ValueError as exc:
        raise CtlError(f"--at: {exc}", "bad_time", EXIT_USAGE) from None
    bundle = build_bundle(args, at)
    if args.image:
        image = Path(args.image)
        if not image.is_file():
            raise CtlError(f"--image {image} is not a file", "bad_image", EXIT_USAGE)
        write_image(image, bundle)
        where = f"{image} (FAT partition at byte {fat_offset(image)})"
    else:
        write_dir(Path(args.boot), bundle)
        where = args.boot
    return {"provisioned": where, "kiosk_id": args.kiosk, "store_id": args.store, "files": sorted(bundle.files)}
