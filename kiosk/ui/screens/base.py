"""What every screen is: a Kivy Screen that shows ``data`` and holds no state or logic of its own."""
from __future__ import annotations

from kivy.properties import DictProperty
from kivy.uix.screenmanager import Screen


class KioskScreen(Screen):
    """``data`` holds display strings prepared by a presenter; the controller replaces it whole."""

    data = DictProperty({})


def val(data: dict, key: str, default=""):
    """``data[key]`` for kv rules: written ``val(root.data, "points")`` so that kv watches ``root.data``
    (kv cannot watch ``root.data.get(...)``: it would try to bind a property named ``get``)."""
    return data.get(key, default)
