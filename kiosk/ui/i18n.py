"""The run-time language switch: ``tr._(msgid)`` in kv rules and Python.

The kv compiler binds ``tr._(...)`` expressions to the ``_`` "property" of :data:`tr`; this
class records those bindings and re-runs them when the language changes (the pattern of
Kivy's i18n example), so static texts switch instantly without rebuilding any screen.
"""
from __future__ import annotations

from kivy.event import Observable

from .catalog import LANGUAGES, gettext, ngettext


class Translator(Observable):
    """Holds the current language; notifies kv bindings of ``_`` when it changes."""

    def __init__(self, lang: str = LANGUAGES[0]):
        super().__init__()
        self._observers: list[tuple] = []
        self.lang = lang

    def _(self, msgid: str) -> str:
        return gettext(self.lang, msgid)

    def n_(self, singular: str, plural: str, n: int) -> str:
        """The form of a text for ``n`` ("1 transaction", "2 transactions"; one form in Chinese)."""
        return ngettext(self.lang, singular, plural, n)

    def fbind(self, name, func, *largs, **kwargs):
        if name != "_":
            return super().fbind(name, func, *largs, **kwargs)
        self._observers.append((func, largs))
        return len(self._observers)

    def funbind(self, name, func, *largs, **kwargs):
        if name != "_":
            return super().funbind(name, func, *largs, **kwargs)
        self._observers = [(f, a) for f, a in self._observers if not (f is func and a is largs)]

    def switch(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"language {lang!r} is not one of {LANGUAGES}")
        self.lang = lang
        alive = []
        for func, largs in self._observers:
            try:
                func(*largs, None, None)
            except ReferenceError:      # the widget is gone (kv never unbinds it): forget it
                continue
            alive.append((func, largs))
        self._observers = alive


tr = Translator()
