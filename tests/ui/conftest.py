"""The real app in a real Kivy window: one ``kiosk --simulate`` process per test, on one Xvfb
display the session starts, driven through the automation socket (kiosk.ui.remote).

The counter's flows also run without a window (``desk``): the same Desk the app draws, recording
what it would draw, on a demo ledger called in-line."""
from __future__ import annotations

import shutil

import pytest

from kiosk import demo_data
from kiosk.ledger import Ledger
from kiosk.ledger.clock import SteadyClock
from kiosk.ui import services
from kiosk.ui.context import KioskContext
from kiosk.ui.desk import Desk
from kiosk.ui.i18n import tr
from kiosk.ui.remote import Kiosk, virtual_display
from kiosk.ui.worker import perform
from tests.conftest import PINNED


@pytest.fixture(scope="session")
def display():
    with virtual_display() as name:
        yield name


@pytest.fixture
def start(tmp_path, display):
    """start(*args, ui={...}, sync={...}) -> a running kiosk; ``ui`` and ``sync`` become config sections."""
    running: list[Kiosk] = []

    def start(*args: str, ui: dict | None = None, sync: dict | None = None) -> Kiosk:
        var = tmp_path / f"kiosk{len(running)}"
        var.mkdir()
        config = None
        if ui or sync:
            config = var / "kiosk.toml"
            config.write_text("".join(f"[{name}]\n" + "".join(f"{key} = {value!r}\n" for key, value in section.items())
                                      for name, section in (("ui", ui), ("sync", sync)) if section).replace("'", '"'))
        kiosk = Kiosk(var, display=display, args=list(args), config=str(config) if config else None)
        running.append(kiosk)
        return kiosk

    yield start
    for kiosk in running:
        kiosk.close()


@pytest.fixture
def kiosk(start) -> Kiosk:
    """The app in Simplified Chinese (the default) on a freshly seeded demo ledger."""
    return start()


@pytest.fixture
def ledger_of():
    """ledger_of(kiosk): the ledger file a kiosk uses, opened by the test to check what the app wrote."""
    opened: list[Ledger] = []

    def open_for(kiosk: Kiosk) -> Ledger:
        opened.append(Ledger(kiosk.var / "simulate" / "ledger.db"))
        return opened[-1]
    yield open_for
    for led in opened:
        led.close()


@pytest.fixture
def ledger(kiosk, ledger_of):
    """The same ledger file the app uses, opened by the test to check what the app wrote."""
    return ledger_of(kiosk)


class PaperDesk(Desk):
    """The counter without a window: what would be drawn is kept in ``screen``, ``data``, ``notices``
    and ``question``. Ledger jobs run in-line, or wait in ``pending`` while ``hold`` is set (an answer
    still on its way)."""

    def __init__(self, ctx: KioskContext):
        self.ledger = ctx.open_ledger()
        self.hold = False
        self.pending: list = []
        self.screen, self.data, self.notices, self.question = "", {}, [], None
        self._render = None
        super().__init__(ctx, self._submit)

    def _submit(self, job, done, failed) -> None:
        self.pending.append((job, done, failed))
        if not self.hold:
            self.answer()

    def answer(self) -> None:
        """Run the ledger jobs waiting, in order, and deliver their answers."""
        while self.pending:
            job, done, failed = self.pending.pop(0)
            ok, value = perform(job, self.ledger)
            (done if ok else failed)(value)

    @property
    def current(self) -> str:
        return self.screen

    def show(self, name, render) -> None:
        self.screen, self._render = name, render
        self.data = render()

    def refresh(self) -> None:
        if self._render is not None:
            self.data = self._render()

    def notice(self, text, tone="info") -> None:
        self.question = None
        self.notices.append((tone, text))

    def confirm(self, text, on_yes) -> None:
        self.question = (text, on_yes)

    def dismiss_overlays(self) -> None:
        self.question = None

    def clear_screens(self) -> None:
        self.data = {}

    # -- what a person does -------------------------------------------------------------------
    def tap(self, card: demo_data.DemoCard) -> None:
        """A verified card tap, as the input pump hands it over."""
        self.run_card(services.read_card(self.ledger, card.card_id))

    def run_card(self, found: dict) -> None:
        self.on_card(found, 0.0)

    def sign_in(self, card: demo_data.DemoCard, pin: str) -> None:
        self.tap(card)
        for digit in pin:
            self.staff_flow.key(digit)
        self.staff_flow.submit()

    def yes(self) -> None:
        text, on_yes = self.question
        self.question = None
        on_yes()

    @property
    def last_notice(self) -> str:
        return self.notices[-1][1] if self.notices else ""


@pytest.fixture(scope="session")
def demo_ledger_file(tmp_path_factory):
    """The demo ledger, seeded once at the pinned instant; each ``desk`` gets a copy."""
    path = tmp_path_factory.mktemp("demo") / "ledger.db"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in SteadyClock(PINNED).environ().items():
            patch.setenv(name, value)
        demo_data.seed(path)
    return path


@pytest.fixture
def make_desk(tmp_path, demo_ledger_file, clock):
    """make_desk(head_office=None): the counter's flows on a fresh copy of the demo ledger, no window,
    in English; ``head_office`` is the link the entry point would hand in (its ``guard`` guards spends)."""
    made: list[PaperDesk] = []
    was = tr.lang
    tr.switch("en")

    def make(head_office=None) -> PaperDesk:
        db = tmp_path / f"ledger{len(made)}.db"
        shutil.copy(demo_ledger_file, db)
        shutil.copy(f"{demo_ledger_file}.key", f"{db}.key")       # its personal-data key goes with it (0600)
        made.append(PaperDesk(KioskContext(db=db, clock=clock, language="en", head_office=head_office)))
        made[-1].home()
        return made[-1]
    yield make
    for paper in made:
        paper.ledger.close()
    tr.switch(was)


@pytest.fixture
def desk(make_desk) -> PaperDesk:
    return make_desk()
