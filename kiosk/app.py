"""``kiosk``: the touchscreen app (filled by the UI issue)."""
import sys


def main() -> int:
    print("kiosk: the touchscreen app is not yet available; `make demo` runs the scripted ledger demo",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
