"""The counter drawn with Kivy: screens, notices and questions, the drivers and the ledger worker,
the idle timer, the language switch and head office's status.

What a tap means and where it leads is :class:`kiosk.ui.desk.Desk`'s (plain Python, tested without a
window); this class gives it a window. A screen is shown with a ``render`` function so that a
language switch can redraw it from the same state.
"""
from __future__ import annotations

import logging
import queue
import time
from typing import Callable

from kivy.clock import Clock
from kivy.core.window import Window

import drivers
from drivers.cards import CardVerifier
from drivers.codes import CodeVerifier
from drivers.sim import SimDevice
from kiosk.replay_guard import SqliteCounterStore, SqliteQrReplay

from . import services
from .context import KioskContext
from .desk import Desk
from .i18n import tr
from .inputs import InputPump
from .overlays import Confirm, Notice
from .screens import SCREENS
from .worker import Worker

log = logging.getLogger(__name__)

STATUS_POLL_S = 10


def post(fn: Callable[[], None]) -> None:
    """Run ``fn`` on the UI thread (safe from any thread)."""
    Clock.schedule_once(lambda _dt: fn(), 0)


class Controller(Desk):
    def __init__(self, app, ctx: KioskContext):
        self.app = app
        self.sm = app.sm
        self.worker = Worker(ctx.open_ledger, post)
        super().__init__(ctx, self.worker.submit)
        self.events: queue.Queue = queue.Queue()
        self.tap_ms: float | None = None
        self._render: Callable[[], dict] | None = None
        self._notice: Notice | None = None
        self._confirm: Confirm | None = None
        self._idle = Clock.create_trigger(lambda _dt: self.on_idle(), ctx.idle_timeout_s)
        self.counters = SqliteCounterStore(str(ctx.db))     # NTAG 424 read counters, kept across restarts
        self.qr_replay = SqliteQrReplay(str(ctx.db))        # phone codes already used, kept across restarts
        self.pump = InputPump(self.events, CardVerifier.from_config(ctx.cards, self.counters),
                              CodeVerifier.from_config(ctx.codes, clock=lambda: ctx.clock.now().timestamp(),
                                                       replay=self.qr_replay), self.worker, self, post,
                              head_office=ctx.head_office)

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self.set_language(self.ctx.language)
        self.worker.start()
        self.pump.start()
        for url in dict.fromkeys(self.ctx.nfc + self.ctx.scanners):
            try:
                device = drivers.open_device(url, self.events)
            except drivers.DeviceUrlError as exc:
                log.error("device %s not used: %s", url, exc)
                continue
            device.start()
            self.devices.append(device)
        Window.bind(on_touch_down=self._touched, on_key_down=self._touched)
        Clock.schedule_interval(lambda _dt: self.poll_status(), STATUS_POLL_S)
        self.poll_status()
        self.home()

    def stop(self) -> None:
        for device in self.devices:
            device.stop()
        self.pump.stop()
        self.worker.stop()
        self.counters.close()
        self.qr_replay.close()

    def sim_device(self, urls: list[str]) -> SimDevice | None:
        """The simulated reader (or scanner) among ``urls``, for the developer panel and automation."""
        return next((d for d in self.devices if isinstance(d, SimDevice) and d.url.text in urls), None)

    # -- drawing --------------------------------------------------------------------------------
    @property
    def current(self) -> str:
        return self.sm.current

    def show(self, name: str, render: Callable[[], dict]) -> None:
        """Build the screen on first use (a member-only day never pays for the staff screens)."""
        if not self.sm.has_screen(name):
            self.sm.add_widget(SCREENS[name](name=name))
        self._render = render
        self.sm.get_screen(name).data = render()
        self.sm.current = name

    def refresh(self) -> None:
        if self._render is not None:
            self.sm.current_screen.data = self._render()

    def notice(self, text: str, tone: str = "info") -> None:
        self.dismiss_overlays()
        self._notice = Notice(text=text, tone=tone)
        self._notice.open(animation=False)

    def confirm(self, text: str, on_yes: Callable[[], None]) -> None:
        self.dismiss_overlays()
        self._confirm = Confirm(text=text, action=on_yes)
        self._confirm.open(animation=False)

    def dismiss_overlays(self) -> None:
        for view in (self._notice, self._confirm):
            if view is not None:
                view.dismiss(animation=False)
        self._notice = self._confirm = None

    def clear_screens(self) -> None:
        for screen in self.sm.screens:
            screen.data = {}

    def set_language(self, lang: str) -> None:
        tr.switch(lang)
        self.app.lang = lang
        self.refresh()

    def poll_status(self) -> None:
        """Head office's status and today's campaigns, every few seconds (both show on the attract screen)."""
        def got(status):
            self.status = status
            if self.sm.current == "attract":
                self.refresh()
        now = self.ctx.clock.now()
        self.worker.submit(lambda led: {**services.head_office_status(led, self.ctx.head_office),
                                        "campaigns": services.todays_campaigns(led, now)}, got, lambda _f: None)

    # -- the idle timer and the tap latency ------------------------------------------------------
    def _touched(self, *_args) -> bool:
        self.activity()
        return False

    def activity(self) -> None:
        self._idle.cancel()
        self._idle()

    def member_shown(self, started: float) -> None:
        """Tap-to-drawn latency: from the driver's event to the first frame showing the member."""
        def drawn(*_args):
            Window.unbind(on_flip=drawn)
            self.tap_ms = (time.monotonic() - started) * 1000
        Window.bind(on_flip=drawn)
