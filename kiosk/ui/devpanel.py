"""The developer panel and keyboard shortcuts of ``kiosk --simulate``: present the demo cards and
scan the demo codes through the simulated reader and scanner, exactly as hardware would."""
from __future__ import annotations

from kivy.core.window import Window
from kivy.properties import ListProperty
from kivy.uix.modalview import ModalView

from kiosk import demo_data

CARDS = (demo_data.ZHANG, demo_data.ALICE, demo_data.LI, demo_data.LOST, demo_data.FORGED,
         demo_data.CASHIER, demo_data.MANAGER, demo_data.TECHNICIAN) + demo_data.BLANKS + (demo_data.VISITOR,)
CODES = (("phone_qr", "Phone QR code of 张三丰"), ("forged_qr", "Forged phone QR code"),
         ("receipt", "Receipt ¥88.00"), ("coupon", "Printed coupon C10"), ("gift", "Gift barcode (coffee beans)"))
# F1..F11 present a card; digits 1..5 scan a code; F12 opens the panel.
KEY_CARDS = {282 + i: card for i, card in enumerate(CARDS[:11])}     # 282 = F1 in SDL2 keycodes
KEY_CODES = {ord(str(i + 1)): name for i, (name, _label) in enumerate(CODES)}
F12 = 293


class DevPanel(ModalView):
    """Buttons for every demo card and code; the panel stays open so several can be used in a row."""

    cards = ListProperty()
    codes = ListProperty()

    def __init__(self, ctl, **kwargs):
        self.ctl = ctl
        super().__init__(**kwargs)
        self.cards = [{"text": c.label, "arg": str(i)} for i, c in enumerate(CARDS)]
        self.codes = [{"text": label, "arg": name} for name, label in CODES]

    def tap(self, index: int) -> None:
        tap_card(self.ctl, CARDS[index])

    def scan(self, name: str) -> None:
        scan_code(self.ctl, name)


def tap_card(ctl, card) -> None:
    reader = ctl.sim_device(ctl.ctx.nfc)
    if reader is not None:
        reader.present_card(card.uid, card.ndef)
        reader.remove_card()


def scan_code(ctl, name: str) -> None:
    scanner = ctl.sim_device(ctl.ctx.scanners)
    if scanner is not None:
        scanner.scan(demo_data.demo_codes(ctl.ctx.store_id, ctl.ctx.clock.now().timestamp())[name])


def bind_shortcuts(app) -> None:
    def on_key(_window, key, *_args):
        if key in KEY_CARDS:
            tap_card(app.ctl, KEY_CARDS[key])
        elif key in KEY_CODES and app.sm.current != "register":     # digits are typed there
            scan_code(app.ctl, KEY_CODES[key])
        elif key == F12:
            app.open_dev_panel()
        else:
            return False
        return True
    Window.bind(on_key_down=on_key)
