"""``kiosk-sync``: the kiosk's sync agent (filled by the sync issue)."""
import sys


def main() -> int:
    print("kiosk-sync: not yet available", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
