"""The gift catalogue with what the member can afford (staff redeem from here)."""
from .base import KioskScreen


class GiftsScreen(KioskScreen):
    pass
