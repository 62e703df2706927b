"""Refund (part of) one of the member's recent purchases."""
from .base import KioskScreen


class RefundScreen(KioskScreen):
    pass
