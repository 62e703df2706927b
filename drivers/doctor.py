"""``kioskctl doctor``: is every configured reader and scanner there and usable, and if not, why.

A technician in a shop needs the fix, not a traceback: for each device it prints the state
(found / missing / permission denied / wrong driver bound / ...) and the commands that fix the
problems it recognises. With ``--wait-card`` / ``--wait-scan`` it proves the whole path by
reading one card or code; given ``card_meaning`` (the app's verifier and ledger, from kioskctl) it
says what the tap means: member card ok, staff card, forged, copied, blocked, unknown. Exit
status 0 when all is well, 1 when anything needs attention (a configuration problem included).
"""
from __future__ import annotations

import argparse
import json
import os
import pwd
import queue
import time
from typing import Callable

import ndef

from drivers.base import BUSY, DENIED, DISCONNECTED, MISSING, NO_ANSWER, NO_LIBRARY, OK, STARTING, WRONG_DRIVER
from drivers.codes import CodeVerifier
from drivers.events import CardPresented, CodeScanned
from drivers.probe import node_group
from drivers.registry import open_device
from drivers.url import DeviceUrlError, parse
from drivers.verdict import NO_KEY, Refused

SETTLE_S = 5.0
BLACKLIST = ("pn533_usb", "pn533", "port100", "nfc")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait-card", action="store_true", help="also wait for one card tap on an NFC reader")
    parser.add_argument("--wait-scan", action="store_true", help="also wait for one scan on a barcode scanner")
    parser.add_argument("--timeout", type=float, default=15.0, metavar="S",
                        help="seconds to wait for the card or scan (default 15)")


def fixes_for(url: str, state: str) -> list[str]:
    """The commands or steps that fix *state* for this device, as far as they are known."""
    scheme, _, target = url.partition(":")
    path = target.partition("?")[0]
    is_path = path.startswith("/")
    user = pwd.getpwuid(os.geteuid()).pw_name      # who runs the kiosk, not who logged in
    if state == OK:
        return []
    if state == WRONG_DRIVER:
        conf = "\\n".join(f"blacklist {m}" for m in BLACKLIST)
        return [f"sudo modprobe -r {' '.join(BLACKLIST)}",
                f"printf '{conf}\\n' | sudo tee /etc/modprobe.d/kiosk-nfc-blacklist.conf",
                "then unplug and replug the reader (see docs/hardware.md)"]
    if state == DENIED:
        group = node_group(path) if is_path else None
        group = group if group not in (None, "root") else ("plugdev" if scheme == "nfc" else "dialout")
        return [f"sudo usermod -aG {group} {user}   (then log out and in, or restart kiosk.service)",
                "or install the udev rule from docs/hardware.md: sudo udevadm control --reload && "
                "sudo udevadm trigger"]
    if state == MISSING:
        if scheme == "nfc" and target.startswith("usb"):
            return ["plug the reader in; `lsusb` should list it (e.g. 054c:06c3 Sony RC-S380)"]
        if scheme == "nfc" and target.startswith("tty"):
            return ["enable the UART: raspi-config > Interface Options > Serial Port "
                    "(login shell: no, hardware: yes), reboot"]
        where = "/dev/input/by-id/" if scheme == "hid" else "/dev/serial/by-id/"
        return ["plug the scanner in, or correct the path in [devices] of /etc/kiosk/kiosk.toml",
                f"list candidates: ls -l {where}"]
    if state == BUSY:
        return [f"another program holds the device: sudo fuser -v {path or target}; stop it"]
    if state == NO_ANSWER:
        return ["the port exists but no reader answers: check wiring (TX to RX, RX to TX), power, "
                "and that the PN532 is set to HSU (UART) mode"]
    if state == NO_LIBRARY:
        return ["sudo apt-get install libusb-1.0-0"]
    if state == DISCONNECTED:
        return ["the device went away while in use: check the cable and the USB power supply"]
    if state == "bad path":
        return ["correct the path in [devices] of /etc/kiosk/kiosk.toml (see docs/hardware.md)"]
    return []


def _describe_card(event: CardPresented) -> dict:
    try:
        records = [r.type for r in ndef.message_decoder(event.ndef or b"", errors="relax")]
    except Exception:  # noqa: BLE001 - corrupt NDEF is worth reporting, not crashing over
        records = ["(unreadable NDEF)"]
    return {"uid": event.uid.hex().upper(), "tag_type": event.tag_type, "ndef_records": records}


def _describe_code(event: CodeScanned) -> dict:
    result = CodeVerifier().check(event.text)
    if isinstance(result, Refused):
        meaning = "signed code (not verified by doctor)" if result.reason == NO_KEY else result.detail
    else:
        meaning = type(result).__name__
    return {"text": event.text, "meaning": meaning}


def _settle(drivers: list, deadline: float) -> None:
    while time.monotonic() < deadline and any(d.state == STARTING for d in drivers):
        time.sleep(0.05)


def _wait_for(events: queue.Queue, wanted: dict[type, set[str]], timeout: float) -> dict[type, object]:
    """The first event of each wanted kind from one of its devices, waiting for all of them together."""
    found: dict[type, object] = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(wanted) and (left := deadline - time.monotonic()) > 0:
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            break
        kind = type(event)
        if kind in wanted and kind not in found and event.device in wanted[kind]:
            found[kind] = event
    return found


# What --wait-card / --wait-scan wait for: the event kind, the schemes that produce it, what to ask for.
READS = {"card": (CardPresented, ("nfc", "sim"), "tap a card on the reader"),
         "scan": (CodeScanned, ("hid", "serial", "sim"), "scan a code with the scanner")}


def check_devices(urls: list[str], wait_card: bool, wait_scan: bool, timeout: float,
                  card_meaning: Callable[[CardPresented], dict] | None = None) -> list[dict]:
    """One report per device: url, state, detail, fixes and, when asked, what it read."""
    events: queue.Queue = queue.Queue()
    reports, running = [], []
    for url in urls:
        report = {"url": url, "state": "", "detail": "", "fixes": []}
        reports.append(report)
        try:
            driver = open_device(url, events)
        except DeviceUrlError as exc:
            report.update(state="bad path", detail=str(exc))
            continue
        driver.start()
        running.append((report, driver))
    try:
        _settle([d for _, d in running], time.monotonic() + SETTLE_S)
        for report, driver in running:
            report.update(state=driver.state, detail=driver.detail)
        asked = [key for key, wanted in (("card", wait_card), ("scan", wait_scan)) if wanted]
        able = {key: {r["url"]: r for r, d in running if d.state == OK and parse(r["url"]).scheme in READS[key][1]}
                for key in asked}
        got = _wait_for(events, {READS[key][0]: set(able[key]) for key in asked if able[key]}, timeout)
        for key in asked:
            event = got.get(READS[key][0])
            if event is not None:
                read = _describe_card(event) if key == "card" else _describe_code(event)
                if key == "card" and card_meaning is not None:
                    read.update(card_meaning(event))
                able[key][event.device][key] = read
                continue
            detail = f"no {key} within {timeout:g} s" if able[key] else f"no working device for a {key}"
            reports.append({"url": f"(--wait-{key})", "state": "nothing read", "detail": detail,
                            "fixes": [f"{READS[key][2]} while doctor waits, or raise --timeout"]})
    finally:
        for _, driver in running:
            driver.stop()
    for report in reports:
        report["fixes"] = report["fixes"] or fixes_for(report["url"], report["state"])
        if report["state"] == OK:
            report["state"] = "found"
        if report.get("card", {}).get("ok") is False:
            report["state"] = "card refused"
    return reports


def render(reports: list[dict]) -> str:
    lines = []
    for r in reports:
        lines.append(f"{r['url']:<44} {r['state']}" + (f"  ({r['detail']})" if r["detail"] else ""))
        if "card" in r:
            c = r["card"]
            lines.append(f"    card: uid {c['uid']} {c['tag_type']} NDEF {', '.join(c['ndef_records']) or 'none'}")
            if "meaning" in c:
                lines.append(f"    means: {c['meaning']}" + (f" ({c['why']})" if c.get("why") else ""))
        if "scan" in r:
            lines.append(f"    scan: {r['scan']['text']!r} ({r['scan']['meaning']})")
        lines.extend(f"    fix: {fix}" for fix in r["fixes"])
    return "\n".join(lines)


def run(args: argparse.Namespace, device_urls: list[str], card_meaning: Callable[[CardPresented], dict] | None = None,
        config_problems: list[str] = (), broker: dict | None = None) -> int:
    """``broker``: the caller's report on the broker connection (``state`` ok, warning, error or skipped)."""
    reports = [{"url": "(configuration)", "state": "error", "detail": problem, "fixes": [
        "edit [cards] in /etc/kiosk/kiosk.toml (see docs/configuration.md)"]} for problem in config_problems]
    reports += check_devices(device_urls, args.wait_card, args.wait_scan, args.timeout, card_meaning)
    ok = all(r["state"] == "found" for r in reports) and (broker or {}).get("state") != "error"
    if getattr(args, "json", False):
        print(json.dumps({"ok": ok, "devices": reports, **({"broker": broker} if broker else {})}, ensure_ascii=False))
    else:
        print(render(reports) if reports else "no devices configured ([devices] nfc / scanners)")
        if broker:
            print(render_broker(broker))
        print("all ok" if ok else "problems found")
    return 0 if ok else 1


def render_broker(broker: dict) -> str:
    lines = [f"broker {broker['broker']}: {broker['state']}" + (f" ({broker['detail']})" if "detail" in broker else "")]
    for what in ("certificate", "broker_certificate"):
        if what in broker:
            cert = broker[what]
            lines.append(f"    {what.replace('_', ' ')}: {cert['subject']}, expires {cert['expires']} "
                         f"({cert['days_left']} days)")
    lines += [f"    error: {e}" for e in broker["errors"]] + [f"    warning: {w}" for w in broker["warnings"]]
    return "\n".join(lines)
