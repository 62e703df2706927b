"""The member's card: report it lost, replace it, or close the account."""
from .base import KioskScreen


class CardScreen(KioskScreen):
    pass
