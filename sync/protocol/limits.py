"""Offline limits both ends agree on when head office has published none: a kiosk that cannot
reach head office may approve spends up to these, for at most ``window_hours`` since it last did.
The one definition lives with the ledger's spend guard, which applies them."""
from kiosk.ledger.guard import DEFAULT_LIMITS

__all__ = ["DEFAULT_LIMITS"]
