"""The counter kiosk's touchscreen UI (Kivy).

One thin Screen class and one ``.kv`` file per screen under :mod:`kiosk.ui.screens`; what the
screens show is prepared by :mod:`kiosk.ui.presenter`, what they do is decided by the flows
(:mod:`kiosk.ui.controller` and friends), and every ledger call runs on one worker thread.
Nothing in this package imports Kivy at module level except the modules that need a window,
so the pure parts (catalogues, presenter, worker) are importable from tests and tools.
"""
