"""``kiosk-hq``: the head-office hub (ingest, authority, retained data) and its admin commands."""
from .cli import main

__all__ = ["main"]
