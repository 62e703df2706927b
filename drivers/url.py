"""Device paths like ``serial:/dev/ttyACM0?baud=9600&suffix=crlf``, parsed and checked.

Config files name devices by these URL-like paths; a typo must fail loudly at start with the
option's name, not as a silent default, so every option is validated by the driver that owns it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl


class DeviceUrlError(ValueError):
    """A device path that cannot be used; the message names the bad part or option."""


@dataclass(frozen=True)
class DeviceUrl:
    text: str                                   # the path exactly as configured
    scheme: str                                 # "nfc", "hid", "serial", "sim"
    target: str                                 # what follows "scheme:" up to "?"
    options: dict[str, str] = field(default_factory=dict)

    def take(self, allowed: dict[str, str]) -> dict[str, str]:
        """The options with defaults filled in; an option not in *allowed* is an error."""
        unknown = sorted(set(self.options) - set(allowed))
        if unknown:
            known = ", ".join(sorted(allowed)) or "none"
            raise DeviceUrlError(f"{self.text}: unknown option {unknown[0]!r} (known: {known})")
        return {**allowed, **self.options}

    def error(self, option: str, problem: str) -> DeviceUrlError:
        return DeviceUrlError(f"{self.text}: option {option!r} {problem}")


def parse(text: str) -> DeviceUrl:
    """Split a device path into scheme, target and ``?key=value&...`` options."""
    if not isinstance(text, str) or ":" not in text:
        raise DeviceUrlError(f"{text!r}: a device path looks like 'scheme:target', e.g. 'nfc:usb' or 'sim:'")
    scheme, rest = text.split(":", 1)
    if not scheme.isalpha():
        raise DeviceUrlError(f"{text!r}: bad scheme {scheme!r}")
    target, _, query = rest.partition("?")
    options: dict[str, str] = {}
    if query:
        try:
            pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
        except ValueError:
            raise DeviceUrlError(f"{text}: options must look like ?key=value&key=value") from None
        for key, value in pairs:
            if key in options:
                raise DeviceUrlError(f"{text}: option {key!r} given twice")
            options[key] = value
    return DeviceUrl(text=text, scheme=scheme.lower(), target=target, options=options)


def int_option(url: DeviceUrl, name: str, value: str, lo: int, hi: int) -> int:
    if not value.isdigit() or not lo <= int(value) <= hi:
        raise url.error(name, f"must be a whole number from {lo} to {hi}, not {value!r}")
    return int(value)


def choice_option(url: DeviceUrl, name: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise url.error(name, f"must be one of {', '.join(choices)}, not {value!r}")
    return value
