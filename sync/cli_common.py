"""Command-line pieces both services share: broker options, logging, signal handling."""
from __future__ import annotations

import argparse
import logging
import signal
import threading

from .mqtt import Broker


def add_broker_options(parser: argparse.ArgumentParser, required: bool = True) -> None:
    parser.add_argument("--broker", required=required, help="mqtts://host:8883 (mqtt://host:port for development)")
    parser.add_argument("--ca", help="CA certificate that signed the broker's certificate")
    parser.add_argument("--cert", help="this client's certificate (its CN is its MQTT user name)")
    parser.add_argument("--key", help="this client's private key")
    parser.add_argument("--password-file", help="development brokers without client certificates: a file holding"
                        " this client's broker password (its user name is its client id)")
    parser.set_defaults(password=None)
    parser.add_argument("--log-level", default="INFO")


def broker_from(args: argparse.Namespace) -> Broker:
    """The broker from the options; ValueError (with the reason) for an unusable combination."""
    password = args.password
    if args.password_file:
        try:
            password = open(args.password_file, encoding="utf-8").read().strip()
        except OSError as exc:
            raise ValueError(f"--password-file {args.password_file}: {exc.strerror}") from None
    return Broker(args.broker, args.ca, args.cert, args.key, password or None).check()


def setup_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM/SIGINT, so services shut down cleanly under systemd."""
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop
