"""The member's home: tier and progress, points and expiry, stored value, coupons, packages, history."""
from .base import KioskScreen


class MemberScreen(KioskScreen):
    pass
