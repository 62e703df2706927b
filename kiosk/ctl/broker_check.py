"""``kioskctl doctor``'s broker check: connect as the sync agent does (TLS with this kiosk's own
certificate) and report the handshake, both certificates' expiry and the kiosk's identity.

A certificate that expires within :data:`WARN_DAYS` is a warning (renew it before the kiosk goes
offline for good); a handshake that fails, a certificate already expired or one naming another
kiosk is an error. Nothing is sent beyond the TLS handshake, so the running agent's MQTT session
is never disturbed. Expiry is judged at the kiosk's clock (``kiosk/ledger/clock.py``).
"""
from __future__ import annotations

import socket
import ssl
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import NameOID

WARN_DAYS = 30
TLS_PORT = 8883


def _certificate(cert: x509.Certificate, now: datetime) -> dict:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    expires = cert.not_valid_after_utc
    return {"subject": names[0].value if names else cert.subject.rfc4514_string(),
            "expires": expires.isoformat(timespec="seconds"), "days_left": (expires - now).days}


def _judge(report: dict, what: str, cert: dict) -> None:
    if cert["days_left"] < 0:
        report["errors"].append(f"{what} expired on {cert['expires']}")
    elif cert["days_left"] < WARN_DAYS:
        report["warnings"].append(f"{what} expires in {cert['days_left']} days ({cert['expires']}): renew it")


def check_broker(sync: dict, kiosk_id: str, now: datetime, timeout: float = 5.0) -> dict:
    """The broker report: ``state`` is ok, warning, error or skipped (a plain-TCP development broker)."""
    url = urlsplit(sync.get("broker", ""))
    report: dict = {"broker": sync.get("broker", ""), "errors": [], "warnings": []}
    if url.scheme != "mqtts":
        return {**report, "state": "skipped", "detail": "not a TLS broker (mqtt:// is for development only)"}
    if not sync.get("cert"):
        return {**report, "state": "error", "errors": ["[sync] cert is not set: the broker asks for this kiosk's "
                                                       "certificate (kioskctl provision writes it)"]}
    try:
        own = x509.load_pem_x509_certificate(Path(sync["cert"]).read_bytes())
    except (OSError, ValueError) as exc:
        return {**report, "state": "error", "errors": [f"this kiosk's certificate ([sync] cert): {exc}"]}
    report["certificate"] = _certificate(own, now)
    _judge(report, "this kiosk's certificate", report["certificate"])
    if report["certificate"]["subject"] != kiosk_id:
        report["errors"].append(f"this kiosk's certificate names {report['certificate']['subject']!r}, "
                                f"not the kiosk id {kiosk_id!r}: the broker would refuse its topics")
    try:
        report["broker_certificate"] = _handshake(url.hostname or "", url.port or TLS_PORT, sync, now, timeout)
        _judge(report, "the broker's certificate", report["broker_certificate"])
    except (OSError, ValueError) as exc:        # ssl.SSLError is an OSError
        report["errors"].append(f"TLS handshake with {url.hostname}:{url.port or TLS_PORT}: {_reason(exc)}")
    report["state"] = "error" if report["errors"] else "warning" if report["warnings"] else "ok"
    return report


def _handshake(host: str, port: int, sync: dict, now: datetime, timeout: float) -> dict:
    """The broker's certificate, after a handshake in which it accepted ours."""
    context = ssl.create_default_context(cafile=sync.get("ca") or None)
    context.load_cert_chain(sync["cert"], sync.get("key") or None)
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            peer = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
            tls.settimeout(0.5)     # TLS 1.3: a refused client certificate arrives as an alert after the handshake
            try:
                tls.recv(1)
            except (TimeoutError, socket.timeout):
                pass                # nothing to read: the broker waits for our CONNECT, so it took our certificate
    return _certificate(peer, now)


def _reason(exc: Exception) -> str:
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"the broker's certificate does not verify against [sync] ca: {exc.verify_message}"
    if isinstance(exc, ssl.SSLError):
        return f"refused ({exc.reason or exc}): does the broker trust this kiosk's certificate?"
    if isinstance(exc, (ConnectionRefusedError, TimeoutError, socket.timeout, socket.gaierror)):
        return f"cannot reach the broker ({exc})"
    return str(exc)
