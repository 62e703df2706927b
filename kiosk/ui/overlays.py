"""Messages over the current screen: a notice that goes away by itself, and a yes/no question."""
from __future__ import annotations

from kivy.clock import Clock
from kivy.properties import ObjectProperty, OptionProperty, StringProperty
from kivy.uix.modalview import ModalView

NOTICE_SECONDS = {"info": 6, "ok": 5, "error": 10}


class Notice(ModalView):
    text = StringProperty("")
    tone = OptionProperty("info", options=tuple(NOTICE_SECONDS))

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._timer = Clock.schedule_once(lambda _dt: self.dismiss(), NOTICE_SECONDS[self.tone])

    def on_dismiss(self) -> None:
        self._timer.cancel()


class Confirm(ModalView):
    text = StringProperty("")
    action = ObjectProperty(None)

    def answer(self, yes: bool) -> None:
        self.dismiss(animation=False)
        if yes:
            self.action()
