"""Use one count of a member's package, or sell a new one."""
from .base import KioskScreen


class PackagesScreen(KioskScreen):
    pass
