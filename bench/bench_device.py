"""Device benchmark, printed as ONE JSON line: each service's cold start to READY=1, its resident
memory after warm-up, and the bytes the ledger writes to disk per 1,000 transactions.

- cold start: the service started as systemd starts it (``NOTIFY_SOCKET`` set), timed until it sends
  READY=1; against a bare ``python3 -c pass`` started the same way (the interpreter's own floor).
- memory: VmRSS after ``--warm`` seconds of running; against the bare interpreter's VmRSS.
- bytes written: ``write_bytes`` of /proc/self/io (what reached the block layer, fsyncs included)
  over 1,000 purchases committed durably; against 1,000 bare one-row durable SQLite inserts of the
  same size as a journal record (the physical floor). Projected to a year at ``--per-day``
  transactions, and to the years a card takes to write its own capacity ``--endurance`` times.
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kiosk.ledger import Ledger, lines_from_amount  # noqa: E402
from kiosk.ledger.core import connect  # noqa: E402
from kiosk.ui.remote import virtual_display  # noqa: E402
from sync.hq.notify import Sealer  # noqa: E402
from sync.protocol import generate  # noqa: E402
from tests.sync.mosquitto import Mosquitto  # noqa: E402


def started(cmd: list[str], env: dict, timeout: float = 120) -> tuple[float, subprocess.Popen]:
    """Start ``cmd`` with a private NOTIFY_SOCKET; seconds until it sent READY=1 (or exited)."""
    name = f"bench-device-{os.getpid()}-{time.monotonic_ns()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(0.2)
    begin = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env={**env, "NOTIFY_SOCKET": "@" + name}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - begin < timeout:
            try:
                if b"READY=1" in sock.recv(4096):
                    return time.perf_counter() - begin, proc
            except TimeoutError:
                if proc.poll() is not None:
                    raise RuntimeError(f"{cmd[2:4]} exited with {proc.returncode} before READY=1") from None
        raise RuntimeError(f"{cmd[2:4]} sent no READY=1 in {timeout} s")
    finally:
        sock.close()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise RuntimeError(f"no VmRSS for {pid}")


BARE = [sys.executable, "-c", "import os, socket, time; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
        "s.sendto(b'READY=1', '\\0' + os.environ['NOTIFY_SOCKET'][1:]); time.sleep(60)"]


def services(work: Path, warm: float) -> dict:
    broker = Mosquitto(work / "broker").start()
    generate(work / "hq.pem", work / "hq.pub")
    Sealer.generate(work / "gateway.key")
    Ledger.create(work / "k1.db", kiosk_id="k1", store_id="s1").close()
    hq_db = f"sqlite:///{work / 'hq.db'}"
    common = ["--broker", broker.url, "--log-level", "WARNING"]
    commands = {
        "kiosk-sync": [sys.executable, "-m", "sync.agent", "--db", str(work / "k1.db"), "--kiosk-id", "k1",
                       "--store-id", "s1", "--hq-key", str(work / "hq.pub"), *common],
        "kiosk-hq": [sys.executable, "-m", "sync.hq", "run", "--db", hq_db, "--signing-key", str(work / "hq.pem"),
                     *common],
        "kiosk-hq-ops": [sys.executable, "-m", "sync.hq", "ops", "--db", hq_db, "--signing-key",
                         str(work / "hq.pem"), "--gateway-key", str(work / "gateway.key"), *common],
        "kiosk": [sys.executable, "-m", "kiosk.app", "--simulate", "--var", str(work / "var")],
    }
    out: dict = {}
    try:
        with virtual_display() as display:
            env = {**os.environ, "DISPLAY": display, "KIVY_NO_ARGS": "1"}
            for name, cmd in {"bare_python": BARE, **commands}.items():
                seconds, proc = started(cmd, env)
                time.sleep(warm)
                out[name] = {"ready_s": round(seconds, 3), "rss_mb": rss_mb(proc.pid)}
                proc.terminate()
                proc.wait(30)
    finally:
        broker.stop()
    for name in commands:
        out[name]["start_ratio"] = round(out["bare_python"]["ready_s"] / out[name]["ready_s"], 3)
        out[name]["rss_ratio"] = round(out["bare_python"]["rss_mb"] / out[name]["rss_mb"], 3)
    return out


def written(fn) -> int:
    def io() -> int:
        return int(next(line for line in Path("/proc/self/io").read_text().splitlines()
                        if line.startswith("write_bytes:")).split()[1])
    before = io()
    fn()
    return io() - before


def bytes_per_1000(work: Path, n: int = 1000) -> dict:
    ledger = Ledger.create(work / "wear.db", kiosk_id="k1", store_id="s1")
    ledger.add_staff("c1", "Cashier", "cashier", "1234")
    for i in range(20):
        ledger.register(name=f"Member {i}", phone=f"1380000{i:04d}", card_id=f"C{i}", operator="c1")
    ledger.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    record = len(json.dumps(ledger.journal()[-1]))

    def purchases():
        for i in range(n):
            ledger.purchase(f"C{i % 20}", lines_from_amount(1000 + i), operator="c1")
        ledger.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")    # what the WAL will cost the main file too
    app = written(purchases)
    ledger.close()
    bare = connect(work / "bare.db")
    bare.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    body = "x" * record

    def inserts():
        for _ in range(n):
            bare.execute("BEGIN IMMEDIATE")
            bare.execute("INSERT INTO t (body) VALUES (?)", (body,))
            bare.execute("COMMIT")
        bare.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    floor = written(inserts)
    bare.close()
    return {"transactions": n, "bytes": app, "bare_insert_bytes": floor, "record_bytes": record,
            "ratio": round(floor / app, 3)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--warm", type=float, default=5.0, help="seconds of running before reading VmRSS")
    p.add_argument("--per-day", type=int, default=500, help="transactions a day, for the yearly projection")
    p.add_argument("--card-gb", type=float, default=32.0, help="the SD card's capacity")
    p.add_argument("--endurance", type=float, default=1000.0,
                   help="how many times the card can write its capacity (an assumption: vendors rarely say)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-device-") as tmp:
        work = Path(tmp)
        result = {"bench": "device", "services": services(work, args.warm), "wear": bytes_per_1000(work)}
    per_year = result["wear"]["bytes"] / result["wear"]["transactions"] * args.per_day * 365
    result["wear"].update({"per_day": args.per_day, "mb_per_year": round(per_year / 1e6, 1),
                           "card_years": round(args.card_gb * 1e9 * args.endurance / per_year),
                           "assumed": f"{args.card_gb:g} GB card writing its capacity {args.endurance:g} times"})
    print(json.dumps(result))


if __name__ == "__main__":
    main()
