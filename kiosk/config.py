"""Layered, validated configuration.

Layers, lowest first: built-in defaults < ``/etc/kiosk/kiosk.toml`` < ``--config FILE`` <
a few environment variables. Every file is TOML, parsed (never executed) and checked against
:data:`OPTIONS`: an unknown section or key, or a bad value, is a :class:`ConfigError` that
names the file and the key. Secret options are never shown; :meth:`Config.redacted` masks them.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SYSTEM_CONFIG = Path("/etc/kiosk/kiosk.toml")


class ConfigError(ValueError):
    """A configuration problem, with the file and the key in the message."""


def _str(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _ident(value: Any) -> str:
    value = _str(value)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
        raise ValueError("must be 1-64 letters, digits, '_', '.' or '-' (used in MQTT topics)")
    return value


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return value.lower() in ("1", "true", "yes", "on")
    raise ValueError("must be true or false")


def _int_between(lo: int, hi: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"must be a whole number from {lo} to {hi}")
        return value
    return parse


def _one_of(*choices: Any) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if isinstance(value, str) and value.isdigit() and int(value) in choices:
            value = int(value)
        if value not in choices:
            raise ValueError("must be one of " + ", ".join(map(str, choices)))
        return value
    return parse


def _timezone(value: Any) -> str:
    value = _str(value)
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _region(value: Any) -> str:
    import phonenumbers

    value = _str(value).upper()
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("must be a two-letter region code phonenumbers knows, e.g. CN")
    return value


def _str_list(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError("must be a list of strings")
    return list(value)


def _size(value: Any) -> str:
    value = _str(value)
    if not re.fullmatch(r"[0-9]{3,4}x[0-9]{3,4}", value):
        raise ValueError("must look like 800x480")
    return value


@dataclass(frozen=True)
class Option:
    parse: Callable[[Any], Any]
    default: Any
    help: str
    secret: bool = False
    system_only: bool = False     # a privilege: only /etc/kiosk/kiosk.toml or the environment may set it


OPTIONS: dict[str, dict[str, Option]] = {
    "kiosk": {
        "id": Option(_ident, "kiosk-01", "this kiosk's id, unique in the chain"),
        "store_id": Option(_ident, "store-01", "the store this kiosk stands in"),
        "store_name": Option(_str, "Demo Store", "shown on the attract screen"),
        "db": Option(_str, "/var/lib/kiosk/ledger.db", "the local SQLite ledger"),
        "rules": Option(_str, "", "rules TOML used by `kioskctl init` (empty: the reference rules)"),
        "timezone": Option(_timezone, "Asia/Shanghai", "the store's time zone (days, weekdays, expiry)"),
        "phone_region": Option(_region, "CN", "region of phone numbers typed without a country code (+86 for CN)"),
        "log_level": Option(_one_of("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", "logging level"),
        "admin_group": Option(_ident, "", "Unix group whose members are kioskctl's local administrator besides root"
                              " (empty: root only)", system_only=True),
    },
    "devices": {
        "nfc": Option(_str_list, ["sim:"], "NFC reader paths, e.g. nfc:usb, nfc:tty:S0:pn532, sim:"),
        "scanners": Option(_str_list, ["sim:"], "barcode scanner paths, e.g. hid:/dev/input/by-id/..., serial:/dev/ttyACM0"),
    },
    "cards": {
        "accept_uid": Option(_bool, False, "accept bare-UID cards (legacy, cloneable)"),
        "accept_token": Option(_bool, True, "accept signed NDEF member tokens"),
        "accept_sun": Option(_bool, False, "accept NTAG 424 DNA SUN messages"),
        "token_public_key": Option(_str, "", "head office's Ed25519 public key for member tokens (hex)"),
        "sun_master_key": Option(_str, "", "master key for NTAG 424 per-card keys (hex)", secret=True),
    },
    "codes": {
        "qr_secret": Option(_str, "", "HMAC key for phone QR codes", secret=True),
        "receipt_secret": Option(_str, "", "HMAC key shared with the POS for receipt codes", secret=True),
        "coupon_secret": Option(_str, "", "HMAC key for printed coupon codes", secret=True),
    },
    "sync": {
        "broker": Option(_str, "mqtt://127.0.0.1:1883", "mqtt://host:port (development) or mqtts://host:port"),
        "ca": Option(_str, "", "CA certificate file for the broker"),
        "cert": Option(_str, "", "the sync agent's client certificate file (CN = the kiosk id)"),
        "key": Option(_str, "", "the sync agent's client key file", secret=True),
        "ui_cert": Option(_str, "", "the UI's client certificate file (CN = <kiosk id>.ui), for online authorization"),
        "ui_key": Option(_str, "", "the UI's client key file", secret=True),
        "ctl_cert": Option(_str, "", "kioskctl's client certificate file (CN = <kiosk id>.ctl), for online authorization"),
        "ctl_key": Option(_str, "", "kioskctl's client key file", secret=True),
        "password": Option(_str, "", "broker password (user name = client id) instead of certificates, development"
                           " brokers only", secret=True),
        "hq_public_key": Option(_str, "", "file with head office's Ed25519 public key (PEM) for signed messages"),
        "auth_timeout_ms": Option(_int_between(100, 60_000), 1500, "wait this long for online authorization"),
    },
    "ui": {
        "language": Option(_one_of("zh_CN", "en"), "zh_CN", "default language"),
        "idle_timeout_s": Option(_int_between(5, 3600), 30, "return to the attract screen after this idle time"),
        "size": Option(_size, "800x480", "window size"),
        "rotation": Option(_one_of(0, 90, 180, 270), 0, "screen rotation in degrees"),
        "fullscreen": Option(_bool, False, "run fullscreen (on the device)"),
        "touch": Option(_str, "", "the one touch input, e.g. mtdev:/dev/input/event0 (empty: mouse only: desktop, Xvfb)"),
    },
}

# Environment variables that override single keys (the highest layer).
ENVIRONMENT = {
    "KIOSK_ID": ("kiosk", "id"),
    "KIOSK_STORE_ID": ("kiosk", "store_id"),
    "KIOSK_DB": ("kiosk", "db"),
    "KIOSK_LOG_LEVEL": ("kiosk", "log_level"),
    "KIOSK_BROKER": ("sync", "broker"),
    "KIOSK_ADMIN_GROUP": ("kiosk", "admin_group"),
}


class Config:
    """Effective configuration: ``cfg.get("kiosk", "db")`` and where each value came from."""

    def __init__(self, values: dict[str, dict[str, Any]], sources: dict[tuple[str, str], str]):
        self._values = values
        self._sources = sources

    def get(self, section: str, key: str) -> Any:
        return self._values[section][key]

    def section(self, section: str) -> dict[str, Any]:
        return dict(self._values[section])

    def source(self, section: str, key: str) -> str:
        return self._sources.get((section, key), "default")

    def redacted(self) -> dict[str, dict[str, Any]]:
        """The values with every secret masked; safe to print or log."""
        out: dict[str, dict[str, Any]] = {}
        for section, options in OPTIONS.items():
            out[section] = {}
            for key, option in options.items():
                value = self._values[section][key]
                out[section][key] = ("********" if value else "") if option.secret else value
        return out

    def __repr__(self) -> str:
        return f"Config({self.redacted()!r})"


def _apply(values: dict, sources: dict, section: str, key: str, raw: Any, origin: str) -> None:
    options = OPTIONS.get(section)
    if options is None:
        raise ConfigError(f"{origin}: unknown section [{section}] (known: {', '.join(OPTIONS)})")
    option = options.get(key)
    if option is None:
        raise ConfigError(f"{origin}: unknown key {key!r} in [{section}] (known: {', '.join(options)})")
    try:
        values[section][key] = option.parse(raw)
    except ValueError as exc:
        shown = "(secret)" if option.secret else repr(raw)
        raise ConfigError(f"{origin}: [{section}] {key} = {shown}: {exc}") from None
    sources[(section, key)] = origin


def _load_file(path: Path, values: dict, sources: dict, system: bool = False) -> None:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: {section!r} must be a [section], not a bare key")
        for key, raw in table.items():
            option = OPTIONS.get(section, {}).get(key)
            if option is not None and option.system_only and not system:
                raise ConfigError(f"{path}: [{section}] {key} may be set only in {SYSTEM_CONFIG}")
            _apply(values, sources, section, key, raw, str(path))


def load(path: str | Path | None = None, *, environ: dict[str, str] | None = None,
         system_path: Path = SYSTEM_CONFIG) -> Config:
    """Build the effective configuration from all layers, validating each."""
    values = {s: {k: o.default for k, o in opts.items()} for s, opts in OPTIONS.items()}
    sources: dict[tuple[str, str], str] = {}
    if system_path.exists():
        _load_file(system_path, values, sources, system=True)
    if path is not None:
        _load_file(Path(path), values, sources)
    environ = os.environ if environ is None else environ
    for var, (section, key) in ENVIRONMENT.items():
        if var in environ:
            _apply(values, sources, section, key, environ[var], f"environment {var}")
    return Config(values, sources)
