"""Staff at the counter: card + PIN sign-in, the staff home with the member being served, the day."""
from __future__ import annotations

import logging


from . import messages, services
from .i18n import tr
from .keyentry import type_key
from .presenter import N_
from .shift import shift_figures
from .staff_presenter import ROLE_NAMES, present_staff_home, present_summary, shift_report

log = logging.getLogger(__name__)
PIN_LENGTH = 8
SHORTEST_PIN = 4


def pin_slots(typed: int) -> str:
    """'● ● ○ ○': a slot per digit of the shortest PIN, then one more (up to eight) while typing."""
    return " ".join("●" * typed + "○" * (min(PIN_LENGTH, max(SHORTEST_PIN, typed + 1)) - typed))


class StaffFlow:
    def __init__(self, visit, desk):
        self.visit, self.desk = visit, desk
        self.clear()

    def clear(self) -> None:
        self.card: dict | None = None       # the staff card waiting for its PIN
        self.pin = ""
        self.error = ""
        self.day: dict | None = None
        self.phone = ""                     # typed in the staff home's phone search

    # -- sign-in ------------------------------------------------------------------------------
    def staff_card(self, found: dict) -> None:
        if self.visit.staff and self.visit.operator == found["staff_id"]:
            self.home()
            return
        self.desk.reset()
        self.card, self.pin, self.error = found, "", ""
        self.desk.show("pin", self.render_pin)

    def render_pin(self) -> dict:
        if self.card is None:
            return {}
        return {"name": f"{self.card['name']} · {tr._(ROLE_NAMES.get(self.card['role'], self.card['role']))}",
                "dots": pin_slots(len(self.pin)), "error": self.error, "ready": len(self.pin) >= SHORTEST_PIN}

    def key(self, key: str) -> None:
        self.pin = type_key(self.pin, key, decimals=False, max_len=PIN_LENGTH)
        self.error = ""
        self.desk.refresh()

    def submit(self) -> None:
        card, pin = self.card["card_id"], self.pin
        self.pin = ""
        self.visit.write(lambda led: led.sign_in(card, pin), self.signed_in, self.refused)

    def refused(self, failure) -> None:
        self.error = messages.for_failure(failure.code, failure.message, tr._)
        self.desk.refresh()

    def signed_in(self, staff: dict) -> None:
        self.visit.staff, self.card = staff, None
        self.home()

    def cancel(self) -> None:
        self.desk.reset()

    # -- the staff home -----------------------------------------------------------------------
    def home(self) -> None:
        self.visit.awaiting_card = None
        self.desk.show("staff", self.render_home)

    def render_home(self) -> dict:
        staff = self.visit.staff
        if not staff:
            return {}
        return {**present_staff_home(staff, self.visit.member, tr._, tr.lang), "phone": self.phone,
                "can_find": len(self.phone) >= 6}

    def set_phone(self, text: str) -> None:
        if text != self.phone:
            self.phone = text
            self.desk.refresh()

    def find_by_phone(self) -> None:
        """The member with the typed phone becomes the member served (as if their card was tapped)."""
        phone = self.phone
        if len(phone) < 6:
            return

        def found(view):
            self.phone = ""
            self.select_member(view)
        self.visit.run(lambda led: services.member_snapshot(led, led.member_by_phone(phone)["card_id"]), found)

    def select_member(self, view: dict) -> None:
        self.visit.member = view
        self.home()

    def clear_member(self) -> None:
        self.visit.member = None
        self.home()

    def sign_out(self) -> None:
        self.desk.reset()

    # -- today's summary and the devices ------------------------------------------------------
    def summary(self) -> None:
        def got(day):
            self.day = day
            self.desk.show("summary", self.render_summary)
        head_office = self.desk.ctx.head_office
        self.visit.run(lambda led: {"summary": led.day_summary(), "shift": shift_figures(led.day_records()),
                                    "names": led.staff_names(),
                                    "status": services.head_office_status(led, head_office)}, got)

    def acknowledge_corrections(self) -> None:
        """Staff have read head office's corrections on the summary screen."""
        head_office, shown = self.desk.ctx.head_office, self.day["status"]["corrections"] if self.day else []

        def acknowledge(_led):
            for correction in shown:
                head_office.acknowledge(correction["tx_id"])
        self.visit.write(acknowledge, lambda _r: self.summary())

    def render_summary(self) -> dict:
        if self.day is None:
            return {}
        readers = set(self.desk.ctx.nfc)
        devices = [(N_("Card reader") if d.url.text in readers else N_("Scanner"), d.url.text, d.state, d.detail)
                   for d in self.desk.devices]
        day = self.day
        return present_summary(day["summary"], day["shift"], day["names"], day["status"], devices, tr._,
                               tr.n_, self.desk.ctx.tz, tr.lang)

    def close_shift(self) -> None:
        """交班: the signed-in cashier's figures for the day, shown to the manager; confirming signs out."""
        staff = self.visit.staff
        mine = self.day["shift"].get(staff["staff_id"], {}) if self.day else {}
        text = shift_report(staff["name"], mine, tr._)

        def closed():
            log.info("shift closed by %s: %s", staff["staff_id"], mine)
            self.sign_out()
        self.desk.confirm(text, closed)
