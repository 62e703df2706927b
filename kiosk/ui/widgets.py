"""The few widgets every screen shares: buttons with an automation id, the keypad, list rows.

Their look lives in ``widgets.kv``. ``aid`` names a widget for the automation interface (tests
and the scripted demo press buttons by it); it plays no part in what users see.
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, ListProperty, OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.gridlayout import GridLayout
from kivy.uix.recycleview.views import RecycleDataViewBehavior

TONES = ("primary", "accent", "danger", "ok", "plain", "choice")


class TouchButton(Button):
    aid = StringProperty("")
    tone = OptionProperty("primary", options=TONES)
    selected = BooleanProperty(False)


class ActButton(TouchButton):
    """A button in a list: acts on ``arg`` (e.g. toggles the coupon it names)."""

    action = StringProperty("")
    arg = StringProperty("")


class KeypadKey(TouchButton):
    key = StringProperty("")


class Keypad(GridLayout):
    """Digits, a decimal point (amounts) or clear (PINs, points), and delete; emits ``on_key``."""

    decimals = BooleanProperty(True)
    keys = ListProperty()
    __events__ = ("on_key",)

    def on_keys(self, _pad, keys: list[str]) -> None:
        self.clear_widgets()
        for key in keys:
            button = KeypadKey(key=key)
            button.bind(on_release=lambda b: self.dispatch("on_key", b.key))
            self.add_widget(button)

    def on_key(self, key: str) -> None:
        pass


class DataRow(RecycleDataViewBehavior, BoxLayout):
    """A list row: a title, a detail line, a note, and an optional button acting on ``arg``."""

    DEFAULTS = {"text": "", "detail": "", "note": "", "button": "", "action": "", "arg": "", "aid": "",
                "enabled": False}
    text = StringProperty("")
    detail = StringProperty("")
    note = StringProperty("")
    button = StringProperty("")
    action = StringProperty("")
    arg = StringProperty("")
    aid = StringProperty("")
    enabled = BooleanProperty(False)

    def refresh_view_attrs(self, rv, index, data):
        """Recycled rows start from the defaults, so no value leaks from a previous row."""
        return super().refresh_view_attrs(rv, index, {**self.DEFAULTS, **data})
