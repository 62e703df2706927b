"""Phone numbers: one spelling (E.164) for storage and look-up, masked for screens.

Parsing and validity come from the ``phonenumbers`` library (Google's libphonenumber metadata);
a number typed without a country code is read in the configured default region ([kiosk]
phone_region, CN by default).
"""
from __future__ import annotations

import phonenumbers

from .errors import InvalidInput

MAX_TYPED = 32


def normalise_phone(typed: str, region: str) -> str:
    """``136 1111 2222`` or ``+86-136-1111-2222`` -> ``+8613611112222``; anything invalid is refused."""
    if not isinstance(typed, str) or not typed.strip() or len(typed) > MAX_TYPED:
        raise InvalidInput("phone must be a phone number (at most 32 characters)")
    try:
        number = phonenumbers.parse(typed, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise InvalidInput(f"phone {typed!r} is not a valid phone number (default region {region})")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(phone: str) -> str:
    """``+8613812345678`` -> ``138****5678``: the national number, its middle hidden."""
    if phone.startswith("+"):
        try:
            phone = phonenumbers.national_significant_number(phonenumbers.parse(phone))
        except phonenumbers.NumberParseException:
            pass
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "*" * len(phone)


def mask_card(card_id: str) -> str:
    """``DEMO-0003`` -> ``*****0003``: enough for staff to tell cards apart, not to use one."""
    return "*" * max(2, len(card_id) - 4) + card_id[-4:]
