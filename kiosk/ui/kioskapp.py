"""The Kivy App: loads the kv files, builds the screen manager, starts the controller.

Import only after :func:`kiosk.ui.kivy_env.prepare` (Kivy reads its settings on import).
"""
from __future__ import annotations

import logging
import signal
from pathlib import Path

from kivy.app import App
from kivy.clock import Clock
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, NumericProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.sdnotify import Watchdog

from . import overlays, theme, widgets  # noqa: F401 - importing registers the widget classes for kv
from .context import KioskContext
from .screens import kv_files

log = logging.getLogger(__name__)
HERE = Path(__file__).parent


class KioskApp(App):
    scale = NumericProperty(1.0)        # type and touch targets grow on bigger screens
    landscape = BooleanProperty(True)   # layouts stack their columns on a portrait (rotated) screen
    lang = StringProperty("zh_CN")

    def __init__(self, ctx: KioskContext, **kwargs):
        super().__init__(**kwargs)
        self.ctx = ctx
        self.title = f"{ctx.store_name} · kiosk"
        self.automation = None
        self.dev_panel = None

    def build(self):
        theme.register_font()
        for kv in [HERE / "widgets.kv", HERE / "overlays.kv", HERE / "devpanel.kv", *kv_files()]:
            Builder.load_file(str(kv))
        Window.clearcolor = theme.BACKGROUND
        Window.bind(size=self._resized)
        self._resized(Window, Window.size)
        self.sm = ScreenManager(transition=NoTransition())     # screens are built when first shown
        from .controller import Controller
        self.ctl = Controller(self, self.ctx)
        root = FloatLayout()
        root.add_widget(self.sm)
        return root

    def _resized(self, _window, size) -> None:
        width, height = size
        self.landscape = width >= height
        self.scale = theme.scale_for(*((width, height) if self.landscape else (height, width)))

    def on_start(self) -> None:
        self.ctl.start()
        if self.ctx.simulate:
            from .devpanel import bind_shortcuts
            bind_shortcuts(self)
        if self.ctx.automation:
            from .automation import AutomationServer
            self.automation = AutomationServer(self, self.ctx.automation)
            self.automation.start()
        signal.signal(signal.SIGTERM, lambda *_args: Clock.schedule_once(lambda _dt: self.stop(), 0))
        watchdog = Watchdog()
        watchdog.ready("attract screen shown")
        Clock.schedule_interval(lambda _dt: watchdog.tick(), 1)   # from the UI thread: a hung UI stops pinging
        log.info("kiosk ready: %s, %s, idle timeout %ss", self.ctx.store_name, self.ctx.language,
                 self.ctx.idle_timeout_s)

    def on_stop(self) -> None:
        if self.automation:
            self.automation.stop()
        self.ctl.stop()

    def open_dev_panel(self) -> None:
        if self.ctx.simulate:
            from .devpanel import DevPanel
            self.dev_panel = self.dev_panel or DevPanel(self.ctl)
            self.dev_panel.open()
