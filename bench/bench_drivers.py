"""Driver benchmarks, printed as ONE JSON line, each figure next to the physical limit it is bounded by.

- Tap to event through the real nfcpy stack (a Type 3 tag emulated over nfcpy's UDP link in
  another process), split into the wait for the reader's next poll and the read itself; the read
  is compared with a raw UDP round trip between two processes on loopback, measured in this run.
- Tap to event through ``sim:``, compared with a bare queue hand-off between two threads.
- Decode rate of each card and code parser, compared with the one primitive it cannot avoid
  (HMAC-SHA256, Ed25519 verify, AES-CMAC).

Run: ``make bench-drivers`` or ``.venv/bin/python bench/bench_drivers.py [--taps N]``.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import random
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat  # noqa: E402

from drivers import open_device, sun  # noqa: E402
from drivers.cards import CardVerifier, make_sun_message  # noqa: E402
from drivers.codes import CodeVerifier, make_coupon_code, make_gtin, make_member_qr, make_receipt_code  # noqa: E402
from drivers.events import CardPresented, CardRemoved  # noqa: E402
from drivers.tokens import make_member_token  # noqa: E402
from drivers.udpcard import UdpCard  # noqa: E402
from drivers.verdict import Refused, hmac_sha256  # noqa: E402


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values: list[float], scale: float, digits: int = 3) -> dict:
    return {"p50": round(pct(values, 50) * scale, digits), "p95": round(pct(values, 95) * scale, digits)}


class Consumer(threading.Thread):
    """Stands in for the UI thread: takes events off the queue and notes when each arrived."""

    def __init__(self, events: queue.Queue):
        super().__init__(daemon=True)
        self.events, self.received = events, queue.Queue()

    def run(self) -> None:
        while True:
            event = self.events.get()
            self.received.put((time.monotonic(), event))


def udp_rtt(samples: int = 2000) -> list[float]:
    """Round trips between this process and an echo process on loopback (the nfcpy link's floor)."""
    echo = subprocess.Popen([sys.executable, "-c", (
        "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('127.0.0.1',0))\n"
        "print(s.getsockname()[1],flush=True)\nwhile True:\n d,a=s.recvfrom(2048)\n s.sendto(d,a)")],
        stdout=subprocess.PIPE, text=True)
    port = int(echo.stdout.readline())
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"212F " + b"0" * 64          # the size of a typical nfcpy UDP frame
    rtts = []
    for _ in range(samples):
        start = time.perf_counter()
        sock.sendto(payload, ("127.0.0.1", port))
        sock.recvfrom(2048)
        rtts.append(time.perf_counter() - start)
    echo.kill()
    echo.wait()
    sock.close()
    return rtts[samples // 10:]


def bench_nfc_udp(taps: int) -> dict:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    key = Ed25519PrivateKey.generate()
    token = make_member_token(key, "C-000001", int(time.time()), uid=bytes.fromhex("03FEFFE011223344"))
    events: queue.Queue = queue.Queue()
    consumer = Consumer(events)
    consumer.start()
    reader = open_device(f"nfc:udp:127.0.0.1:{port}", events)
    reader.start()
    tap_to_event, read_time, exchanges = [], [], []
    card = UdpCard(port, token)
    for _ in range(taps):
        time.sleep(random.uniform(0, 1.0))         # taps do not keep time with the reader's polling
        tapped = card.present()
        arrived, event = consumer.received.get(timeout=30)
        assert isinstance(event, CardPresented), event
        tap_to_event.append(arrived - tapped)
        following = UdpCard(port, token)            # ready before the next tap, outside the timing
        card.remove()
        read_time.append(arrived - card.activated_at)
        exchanges.append(1 + sum(1 for t in card.commands if t <= event.at))   # + the SENSF poll
        assert isinstance(consumer.received.get(timeout=30)[1], CardRemoved)
        card = following
    card.remove()
    reader.stop()
    rtt = udp_rtt()
    k = statistics.median(exchanges)
    return {"taps": taps, "tap_to_event_ms": summary(tap_to_event, 1e3, 1),
            "read_to_event_ms": summary(read_time, 1e3, 3), "udp_exchanges_per_read": k,
            "udp_rtt_loopback_us": summary(rtt, 1e6, 1),
            "read_vs_rtt_floor": round(pct(read_time, 50) / (k * pct(rtt, 50)), 2),
            "note": "tap_to_event includes waiting for nfcpy's next UDP poll (its sense timeout is 1 s)"}


def bench_sim(taps: int) -> dict:
    events: queue.Queue = queue.Queue()
    consumer = Consumer(events)
    consumer.start()
    sim = open_device("sim:", events)
    sim.start()
    latencies = []
    for i in range(taps):
        start = time.monotonic()
        sim.present_card(i.to_bytes(7, "big"))
        arrived, _ = consumer.received.get()
        latencies.append(arrived - start)
        sim.remove_card()
        consumer.received.get()
    handoff = []
    for _ in range(taps):
        start = time.monotonic()
        events.put(None)
        arrived, _ = consumer.received.get()
        handoff.append(arrived - start)
    return {"taps": taps, "tap_to_event_us": summary(latencies, 1e6, 1),
            "queue_handoff_us": summary(handoff, 1e6, 1),
            "vs_handoff_floor": round(pct(latencies, 50) / pct(handoff, 50), 2)}


def rate(fn, items: list) -> float:
    """Items per second through *fn*; every item must be accepted (refusals would be cheaper)."""
    start = time.perf_counter()
    results = [fn(item) for item in items]
    elapsed = time.perf_counter() - start
    refused = [r for r in results if isinstance(r, Refused)]
    assert not refused, refused[0]
    return len(items) / elapsed


def bench_parsers(n: int) -> dict:
    now = time.time()
    codes = CodeVerifier(b"q", b"r", b"c", replay_capacity=n + 1)
    key = Ed25519PrivateKey.generate()
    public = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    master = bytes(range(16))
    uid = bytes.fromhex("04A1B2C3D4E5F6")
    small = max(200, n // 10)
    inputs = {
        "member_qr": [make_member_qr(b"q", f"M{i}", now) for i in range(n)],
        "receipt": [make_receipt_code(b"r", "store-01", f"T{i}", 100 + i, int(now)) for i in range(n)],
        "coupon": [make_coupon_code(b"c", "SPRING", i) for i in range(n)],
        "ean13": [make_gtin(f"{690000000000 + i}") for i in range(n)],
        "upca": [make_gtin(f"{3600000000 + i:011d}") for i in range(n)],
    }
    result = {name: round(rate(codes.check, items)) for name, items in inputs.items()}
    tokens = [make_member_token(key, f"C-{i}", int(now), uid=uid) for i in range(small)]
    result["member_token"] = round(rate(lambda t: CardVerifier(token_public_key=public).check(uid, t), tokens))
    verifier = CardVerifier(accept_sun=True, sun_master_key=master)
    suns = [make_sun_message(master, uid, i + 1) for i in range(small)]
    result["sun"] = round(rate(lambda m: verifier.check(uid, m), suns))
    result["bare_uid"] = round(rate(lambda u: CardVerifier(accept_uid=True).check(u, None), [uid] * n))
    signature = key.sign(b"x" * 40)
    floors = {"hmac_sha256": round(rate(lambda m: hmac_sha256(b"k", m), [f"KM1:M{i}:1" for i in range(n)])),
              "ed25519_verify": round(rate(lambda _: key.public_key().verify(signature, b"x" * 40), range(small))),
              "aes_cmac": round(rate(lambda m: sun.aes_cmac(master, m), [bytes(16)] * small))}
    ratios = {name: round(result[name] / floors["hmac_sha256"], 2) for name in ("member_qr", "receipt", "coupon")}
    ratios["member_token"] = round(result["member_token"] / floors["ed25519_verify"], 2)
    ratios["sun"] = round(result["sun"] / floors["aes_cmac"], 2)
    return {"decode_per_s": result, "primitive_per_s": floors, "vs_primitive": ratios}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--taps", type=int, default=20, help="card taps through nfcpy UDP (about 3 s each)")
    parser.add_argument("--codes", type=int, default=20000, help="codes per parser")
    args = parser.parse_args()
    started = time.monotonic()
    report = {"bench": "drivers", "nfc_udp": bench_nfc_udp(args.taps), "sim": bench_sim(2000),
              **bench_parsers(args.codes)}
    report["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
