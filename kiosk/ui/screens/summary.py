"""Today's figures for this kiosk and the state of its devices and sync."""
from .base import KioskScreen


class SummaryScreen(KioskScreen):
    pass
