"""Top up stored value with the bonus shown; recent top-ups with undo for managers."""
from .base import KioskScreen


class TopupScreen(KioskScreen):
    pass
