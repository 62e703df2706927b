"""The staff home: who is signed in, the member being served, the counter actions."""
from .base import KioskScreen


class StaffScreen(KioskScreen):
    pass
