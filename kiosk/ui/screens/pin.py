"""Staff PIN entry after a staff card tap."""
from .base import KioskScreen


class PinScreen(KioskScreen):
    pass
