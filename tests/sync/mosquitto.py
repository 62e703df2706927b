"""A real Mosquitto for the tests: own config in a tmp dir, a free port, start/stop/kill/restart;
``Mosquitto.shipped`` runs the repository's own ``broker/mosquitto.conf`` and ``broker/acl``."""
from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = "/usr/sbin/mosquitto"
SHIPPED = Path(__file__).resolve().parents[2] / "broker"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tls_client(files: dict, client_id: str) -> mqtt.Client:
    """A bare MQTT 5 client with a certificate (``files``: ca, cert, key), not yet connected."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.tls_set(ca_certs=files["ca"], certfile=files.get("cert"), keyfile=files.get("key"),
                   tls_version=ssl.PROTOCOL_TLS_CLIENT)
    return client


def tls_refused(files: dict, client_id: str, port: int, timeout: float = 10.0) -> bool:
    """Does the broker refuse this certificate (TLS alert or closed connection before CONNACK)?"""
    client = tls_client(files, client_id)
    deadline = time.monotonic() + timeout
    try:
        client.connect("127.0.0.1", port)
        while not client.is_connected():
            if client.loop(0.2) != mqtt.MQTT_ERR_SUCCESS:
                return True
            if time.monotonic() > deadline:
                raise TimeoutError(f"neither CONNACK nor refusal from port {port}")
    except (ssl.SSLError, OSError):
        return True
    client.disconnect()
    return False


def wait_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class Mosquitto:
    """A plain development broker (one listener, anyone may connect, ``acl``: an acl_file's text),
    or with ``shipped`` the repository's TLS configuration."""

    def __init__(self, workdir: Path, *, acl: str | None = None, max_queued: int = 1000):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.hq_port: int | None = None         # head office's listener (``shipped`` only)
        self.hq_url: str | None = None
        self.proc: subprocess.Popen | None = None
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text("\n".join([
            *self._logging(), f"listener {self.port} 127.0.0.1", "persistence true",
            f"persistence_location {self.dir}/", "autosave_interval 1", f"max_queued_messages {max_queued}",
            "allow_anonymous true", *([f"acl_file {self.dir / 'acl'}"] if acl else [])]) + "\n")
        if acl:
            (self.dir / "acl").write_text(acl)
        self.url = f"mqtt://127.0.0.1:{self.port}"

    def _logging(self) -> list[str]:
        return [f"log_dest file {self.dir / 'mosquitto.log'}", "log_type error", "log_type warning",
                "log_type notice", "log_type subscribe", "user root"]

    @classmethod
    def shipped(cls, workdir: Path, server: dict, hq_ca: str, crl: str) -> "Mosquitto":
        """broker/mosquitto.conf and broker/acl with this test's ports, files and log. ``server``: the
        broker's certificate and the sources' CA (listener ``url``), ``crl`` its revocation list;
        ``hq_ca``: head office's CA (listener ``hq_url``)."""
        mosq = cls(workdir)
        mosq.hq_port = free_port()
        mosq.url, mosq.hq_url = f"mqtts://127.0.0.1:{mosq.port}", f"mqtts://127.0.0.1:{mosq.hq_port}"
        text = (SHIPPED / "mosquitto.conf").read_text()
        for line, ours in {"acl_file /etc/mosquitto/kiosk/acl": f"acl_file {SHIPPED / 'acl'}",
                           "persistence_location /var/lib/mosquitto/": f"persistence_location {mosq.dir}/",
                           "listener 8883": f"listener {mosq.port} 127.0.0.1",
                           "listener 8884": f"listener {mosq.hq_port} 127.0.0.1",
                           "cafile /etc/mosquitto/kiosk/sources-ca.crt": f"cafile {server['ca']}",
                           "cafile /etc/mosquitto/kiosk/hq-ca.crt": f"cafile {hq_ca}",
                           "crlfile /etc/mosquitto/kiosk/sources-ca.crl": f"crlfile {crl}",
                           "certfile /etc/mosquitto/kiosk/broker.crt": f"certfile {server['cert']}",
                           "keyfile /etc/mosquitto/kiosk/broker.key": f"keyfile {server['key']}"}.items():
            assert f"\n{line}\n" in text, f"broker/mosquitto.conf no longer has {line!r}"
            text = text.replace(f"\n{line}\n", f"\n{ours}\n")
        mosq.conf.write_text("\n".join(mosq._logging()) + "\n" + text)
        return mosq

    def start(self) -> "Mosquitto":
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port)
        if self.hq_port:
            wait_port(self.hq_port)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(10)
        self.proc = None

    def reload(self) -> None:
        """What ``systemctl reload mosquitto`` does: SIGHUP (the ACL and the revocation list are read again)."""
        os.kill(self.proc.pid, signal.SIGHUP)

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()

    def log(self) -> str:
        path = self.dir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""
