"""The counter kiosk's touchscreen UI (Kivy).

One thin Screen class and one ``.kv`` file per screen under :mod:`kiosk.ui.screens`; what the
screens show is prepared by :mod:`kiosk.ui.presenter`, what they do is decided by the flows
(``*_flow``, on a :mod:`kiosk.ui.visit` and a :mod:`kiosk.ui.desk`; :mod:`kiosk.ui.controller`
draws the desk), and every ledger call runs on one worker thread. Nothing in this package opens a
window at import except the modules that need one, so the pure parts (catalogues, presenter,
worker, the desk and its flows) run in tests and tools without a display.
"""
