"""The attract screen: store name, tap-or-scan prompt, language switch, offline banner."""
from .base import KioskScreen


class AttractScreen(KioskScreen):
    pass
