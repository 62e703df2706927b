"""Offline brute force of a staff PIN hash, printed as ONE JSON line.

Someone who copies a ledger file off a kiosk holds each staff member's scrypt hash (n=2**14, r=8,
p=1, 16-byte salt: :mod:`kiosk.ledger.staff`). This measures what one guess costs on one core here
(CPU time, so other load on the machine does not inflate it) and extrapolates to every 4-digit PIN (10,000 guesses), next to the same guesses against an unsalted
SHA-256 of the PIN measured in the same run (what a fast hash would give the attacker).

Run: ``make bench-pins`` or ``.venv/bin/python bench/bench_pins.py [--guesses N]``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kiosk.ledger.staff import _pin_matches, hash_pin  # noqa: E402

ALL_4_DIGIT = 10_000


def per_guess(check, guesses: int) -> float:
    """CPU seconds of one guess: one core's cost, whatever else the machine is running."""
    start = time.process_time()
    for n in range(guesses):
        check(f"{n:04d}")
    return (time.process_time() - start) / guesses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guesses", type=int, default=200, help="guesses timed (default 200)")
    args = parser.parse_args()
    stored = hash_pin("99999")                      # never among the guesses: every guess is a miss
    scrypt_s = per_guess(lambda pin: _pin_matches(pin, stored), args.guesses)
    target = hashlib.sha256(b"99999").hexdigest()
    sha_s = per_guess(lambda pin: hashlib.sha256(pin.encode()).hexdigest() == target, args.guesses * 1000)
    print(json.dumps({"bench": "pin_brute_force", "guesses_timed": args.guesses,
                      "per_guess_ms": round(scrypt_s * 1000, 2),
                      "all_4_digit_pins_one_core_s": round(scrypt_s * ALL_4_DIGIT, 1),
                      "sha256_all_4_digit_pins_s": round(sha_s * ALL_4_DIGIT, 4),
                      "ratio_to_sha256": round(scrypt_s / sha_s)}))


if __name__ == "__main__":
    main()
