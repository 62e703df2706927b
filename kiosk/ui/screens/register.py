"""Register a member on the touchscreen (keypad, name keyboard, date picker, consent), then tap a blank card."""
from .base import KioskScreen


class RegisterScreen(KioskScreen):
    pass
