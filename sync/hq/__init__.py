"""``kiosk-hq``: the head-office hub (filled by the sync issue)."""
import sys


def main() -> int:
    print("kiosk-hq: not yet available", file=sys.stderr)
    return 2
