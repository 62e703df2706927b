"""Points into stored value: the points typed, the bonus they make, confirm."""
from .base import KioskScreen


class ConvertScreen(KioskScreen):
    pass
