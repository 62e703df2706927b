"""Record a purchase: amount, coupon, points as cash, payment, and the preview."""
from .base import KioskScreen


class PurchaseScreen(KioskScreen):
    pass
