"""The UI's state and its traffic: who is at the counter, which screen shows what, what a tap means.

Screens only display ``data`` and call back here; flows (member, staff, sale, value, cards)
hold what each task needs and ask the worker for ledger work. A screen is shown with a
``render`` function so that a language switch can redraw it from the same state. The idle
timer and :meth:`reset` make sure nothing about a member outlives their visit.
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
from drivers.codes import CodeVerifier, CouponCode, ProductCode, ReceiptCode
from drivers.sim import SimDevice
from kiosk.replay_guard import SqliteCounterStore, SqliteQrReplay

from . import messages, services
from .card_flow import CardFlow
from .context import KioskContext
from .gift_flow import GiftFlow
from .i18n import tr
from .inputs import InputPump
from .member_flow import MemberFlow
from .points_flow import PointsFlow
from .overlays import Confirm, Notice
from .presenter import present_campaigns
from .screens import SCREENS
from .sale_flow import SaleFlow
from .staff_flow import StaffFlow
from .value_flow import ValueFlow
from .worker import Failure, Worker

log = logging.getLogger(__name__)

STATUS_POLL_S = 10


def post(fn: Callable[[], None]) -> None:
    """Run ``fn`` on the UI thread (safe from any thread)."""
    Clock.schedule_once(lambda _dt: fn(), 0)


class Controller:
    def __init__(self, app, ctx: KioskContext):
        self.app, self.ctx = app, ctx
        self.sm = app.sm
        self.worker = Worker(ctx.open_ledger, post)
        self.events: queue.Queue = queue.Queue()
        self.devices: list = []
        self.member: dict | None = None      # the member at the counter (their ledger snapshot)
        self.staff: dict | None = None       # the signed-in staff member
        self.awaiting_card: Callable[[dict], None] | None = None
        self.generation = 0                  # bumped by reset(): late results of a past visit are dropped
        self._writing = False                # a ledger write is in flight
        self.status = {"reachable": False, "backlog": 0, "last_contact": None}
        self.tap_ms: float | None = None
        self._render: Callable[[], dict] | None = None
        self._notice: Notice | None = None
        self._confirm: Confirm | None = None
        self._idle = Clock.create_trigger(lambda _dt: self.on_idle(), ctx.idle_timeout_s)
        self.members = MemberFlow(self)
        self.staff_flow = StaffFlow(self)
        self.sale = SaleFlow(self)
        self.value = ValueFlow(self)
        self.cards = CardFlow(self)
        self.gifts = GiftFlow(self)
        self.points = PointsFlow(self)
        self.flows = (self.members, self.staff_flow, self.sale, self.value, self.cards, self.gifts, self.points)
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
        Window.bind(on_touch_down=self._activity, on_key_down=self._activity)
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

    # -- plumbing the flows use -----------------------------------------------------------------
    def run(self, job: Callable, done: Callable | None = None, failed: Callable[[Failure], None] | None = None) -> None:
        """Run ``job(ledger)`` on the worker; ``done``/``failed`` run here unless the visit has ended."""
        generation = self.generation

        def current(callback):
            return lambda value: callback(value) if generation == self.generation else None

        self.worker.submit(job, current(done or (lambda _r: None)), current(failed or self.on_failure))

    def write(self, job: Callable, done: Callable | None = None,
              failed: Callable[[Failure], None] | None = None) -> None:
        """Like :meth:`run`, for a ledger write: one at a time, so a double tap on Confirm (or Sign
        in) is never recorded twice; a tap while one is in flight is ignored."""
        if self._writing:
            log.info("ignored a second write while one is in flight")
            return
        self._writing = True

        def finish(callback):
            def call(value):
                self._writing = False
                callback(value)
            return call
        self.run(job, finish(done or (lambda _r: None)), finish(failed or self.on_failure))

    def show(self, name: str, render: Callable[[], dict]) -> None:
        """Show screen ``name`` with what ``render`` returns (building the screen on first use:
        a member-only day never pays for the staff screens)."""
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

    def reload_member(self, then: Callable[[], None] | None = None) -> None:
        """Read the member again after a change, then redraw (or go on with ``then``)."""
        card = self.member["card_id"]

        def got(view):
            self.member = view
            (then or self.refresh)()
        self.run(lambda led: services.member_snapshot(led, card), got)

    def on_failure(self, failure: Failure) -> None:
        self.notice(messages.for_failure(failure.code, failure.message, tr._), "error")

    def home(self) -> None:
        """The attract screen, or the staff home while staff are signed in."""
        if self.staff:
            self.staff_flow.home()
        else:
            self.show("attract", self.attract_data)

    def back(self) -> None:
        """From a shared screen (the gift catalogue) back to whoever is using the kiosk."""
        if self.staff:
            self.staff_flow.home()
        elif self.member:
            self.members.open(self.member)
        else:
            self.home()

    def attract_data(self) -> dict:
        return {"store": self.ctx.store_name, "offline": not self.status["reachable"],
                "simulate": self.ctx.simulate,
                "campaigns": present_campaigns(self.status.get("campaigns", []), tr._, tr.lang)}

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

    # -- what the drivers report (called on the UI thread by the input pump) --------------------
    def on_card(self, found: dict, started: float) -> None:
        self._activity()
        if self.awaiting_card is not None and found["kind"] != "staff":
            self.awaiting_card(found)
        elif found["kind"] == "staff":
            self.staff_flow.staff_card(found)
        elif found["kind"] == "member":
            if self.staff:
                self.staff_flow.select_member(found["view"])
            else:
                self.members.open(found["view"])
                self._time_tap(started)
        elif found["kind"] == "unknown":
            self.notice(tr._(messages.LEDGER["unknown_card"]), "error")
        else:
            self.notice(messages.for_failure(found["code"], "", tr._), "error")

    def on_refused(self, kind: str, reason: str) -> None:
        log.info("%s refused: %s", kind, reason)
        self._activity()
        self.notice(messages.for_reason(reason, tr._), "error")

    def on_code(self, code) -> None:
        self._activity()
        if isinstance(code, ReceiptCode):
            self.members.claim(code)
        elif isinstance(code, CouponCode):
            self.sale.scanned_coupon(code)
        elif isinstance(code, ProductCode):
            self.gifts.scanned(code)

    def on_device(self, event) -> None:
        log.info("device %s: %s", event.device, type(event).__name__)
        if self.sm.current == "summary":
            self.staff_flow.summary()

    def act(self, action: str, arg: str) -> None:
        """A button in a list row (redeem a gift, undo a top-up, use a package...)."""
        handlers = {"redeem": self.gifts.redeem, "undo": self.value.undo, "use": self.value.use,
                    "sell": self.value.sell, "refund_pick": self.sale.refund_pick, "coupon": self.sale.toggle_coupon}
        handlers[action](arg)

    # -- the visit ends -----------------------------------------------------------------------
    def _activity(self, *_args) -> bool:
        self._idle.cancel()
        self._idle()
        return False

    def on_idle(self) -> None:
        if self.sm.current != "attract" or self.member or self.staff:
            log.info("idle for %ss: back to the attract screen", self.ctx.idle_timeout_s)
            self.reset()

    def reset(self) -> None:
        """Forget the member and the staff session, and wipe every screen's data."""
        self.generation += 1
        self._writing = False
        self.member = self.staff = self.awaiting_card = None
        for flow in self.flows:
            flow.clear()
        self.dismiss_overlays()
        for screen in self.sm.screens:
            screen.data = {}
        self.show("attract", self.attract_data)

    def _time_tap(self, started: float) -> None:
        """Tap-to-drawn latency: from the driver's event to the first frame showing the member."""
        def drawn(*_args):
            Window.unbind(on_flip=drawn)
            self.tap_ms = (time.monotonic() - started) * 1000
        Window.bind(on_flip=drawn)
