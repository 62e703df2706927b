"""The few widgets every screen shares: buttons with an automation id, the keypad, list rows.

Their look lives in ``widgets.kv``. ``aid`` names a widget for the automation interface (tests
and the scripted demo press buttons by it); it plays no part in what users see.
"""
from __future__ import annotations

from kivy.properties import BooleanProperty, DictProperty, ListProperty, OptionProperty, StringProperty
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


class KeyGrid(GridLayout):
    """A grid of keys (``keys``), each named ``prefix + key`` for automation and shown through
    ``labels`` (a key not in ``labels`` shows itself); emits ``on_key``."""

    keys = ListProperty()
    prefix = StringProperty("key-")
    labels = DictProperty()
    __events__ = ("on_key",)

    def on_keys(self, *_args) -> None:
        self.clear_widgets()
        for key in self.keys:
            button = KeypadKey(key=key, aid=self.prefix + key, text=self.labels.get(key, key))
            button.bind(on_release=lambda b: self.dispatch("on_key", b.key))
            self.add_widget(button)

    on_prefix = on_keys       # kv may set the prefix after the keys

    def on_labels(self, _grid, labels: dict) -> None:
        for button in self.children:
            button.text = labels.get(button.key, button.key)

    def on_key(self, key: str) -> None:
        pass


class Keypad(KeyGrid):
    """Digits, a decimal point (amounts) or clear (PINs, points, phone numbers), and delete."""

    decimals = BooleanProperty(True)


class InputPanel(BoxLayout):
    """One of several inputs sharing a place on screen (the register form's keypad, keyboard, date
    picker): only the ``shown`` one takes space and touches; the others are not there."""

    shown = BooleanProperty(False)

    def on_touch_down(self, touch):
        return self.shown and super().on_touch_down(touch)

    def on_touch_move(self, touch):
        return self.shown and super().on_touch_move(touch)

    def on_touch_up(self, touch):
        return self.shown and super().on_touch_up(touch)


class DataRow(RecycleDataViewBehavior, BoxLayout):
    """A list row: a title, a detail line (and a note), a figure, and an optional button acting on ``arg``."""

    DEFAULTS = {"text": "", "detail": "", "note": "", "figure": "", "button": "", "action": "", "arg": "",
                "aid": "", "enabled": False, "tone": "accent", "selected": False, "picture": "", "pictured": False}
    text = StringProperty("")
    detail = StringProperty("")
    note = StringProperty("")
    figure = StringProperty("")                  # a number to read at a glance (a gift's cost)
    tone = OptionProperty("accent", options=TONES)
    selected = BooleanProperty(False)
    pictured = BooleanProperty(False)            # a picture slot (gifts): the picture, or an icon without one
    picture = StringProperty("")
    button = StringProperty("")
    action = StringProperty("")
    arg = StringProperty("")
    aid = StringProperty("")
    enabled = BooleanProperty(False)

    def refresh_view_attrs(self, rv, index, data):
        """Recycled rows start from the defaults, so no value leaks from a previous row."""
        return super().refresh_view_attrs(rv, index, {**self.DEFAULTS, **data})
