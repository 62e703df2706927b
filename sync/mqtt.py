"""One way to make an MQTT 5 client for both ends: TLS with a client certificate, or (development
brokers) a user name and password, or plain TCP for local development; a persistent session
(clean_start=False plus a session expiry) so the broker keeps subscriptions and queued messages
across reconnects; automatic reconnect with backoff.

paho keeps its own session state in memory only, so neither end relies on it for delivery:
the kiosk's outbox and head office's confirmations are the record of what arrived.
"""
from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from cryptography import x509
from cryptography.x509.oid import NameOID
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

log = logging.getLogger("sync.mqtt")
SESSION_EXPIRY = 7 * 24 * 3600


@dataclass(frozen=True)
class Broker:
    """``mqtts://host:8883`` with CA, certificate and key files; ``mqtt://host:1883`` for development.
    ``password`` (with the client id as user name) replaces the certificate on a development broker."""

    url: str
    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or "localhost"

    @property
    def tls(self) -> bool:
        return urlsplit(self.url).scheme == "mqtts"

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or (8883 if self.tls else 1883)

    def check(self) -> "Broker":
        scheme = urlsplit(self.url).scheme
        if scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"broker URL {self.url!r} must start with mqtts:// (or mqtt:// for development)")
        if self.tls and not (self.ca and ((self.cert and self.key) or self.password)):
            raise ValueError("mqtts:// needs --ca, and --cert and --key (or a password)")
        return self


def certificate_identity(cert_file: str) -> str:
    """The CN of a PEM certificate: the broker names the client by it (``use_identity_as_username``)."""
    try:
        cert = x509.load_pem_x509_certificate(Path(cert_file).read_bytes())
    except (OSError, ValueError) as exc:
        raise ValueError(f"cannot read the client certificate {cert_file}: {exc}") from None
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def make_client(broker: Broker, client_id: str, *, will: tuple[str, bytes] | None = None) -> mqtt.Client:
    """A client whose id is the identity its certificate carries: the shipped broker replaces the id with
    the certificate's CN, so a mismatch would silently take another client's place (and knock it off)."""
    if broker.tls and broker.cert:
        identity = certificate_identity(broker.cert)
        if identity != client_id:
            raise ValueError(f"the certificate {broker.cert} is for {identity!r}, not {client_id!r}: the broker"
                             f" would connect this process as {identity!r} (use that id or a certificate for"
                             f" {client_id!r})")
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    if broker.password:        # the broker's password file names each client by its client id
        client.username_pw_set(client_id, broker.password)
    if broker.tls:
        client.tls_set(ca_certs=broker.ca, certfile=broker.cert, keyfile=broker.key,
                       cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
    else:
        log.warning("broker %s is plain TCP: for local development only", broker.url)
    if will:
        client.will_set(will[0], will[1], qos=1, retain=True)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.max_queued_messages_set(0)
    return client


def start(client: mqtt.Client, broker: Broker, *, keepalive: int = 15, receive_maximum: int | None = None) -> None:
    """Connect in the background (retrying until the broker answers) with a persistent session;
    ``receive_maximum`` caps the QoS 1 messages the broker sends before this client acknowledges them."""
    client.connect_async(broker.host, broker.port, keepalive=keepalive, clean_start=False,
                         properties=connect_properties(receive_maximum))
    client.loop_start()


def connect_properties(receive_maximum: int | None = None) -> Properties:
    """CONNECT properties of a persistent session (and the hub's cap on unacknowledged messages)."""
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = SESSION_EXPIRY
    if receive_maximum:
        props.ReceiveMaximum = receive_maximum
    return props


def stop(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()
