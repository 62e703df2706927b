"""The counter kiosk: the local ledger it owns, its touchscreen UI and kioskctl."""
from importlib import metadata


def version() -> str:
    """The installed package's version (setup.cfg), for --version and `kioskctl status`."""
    try:
        return metadata.version("store-kiosk")
    except metadata.PackageNotFoundError:   # running from a source tree that was never installed
        return "unknown"
