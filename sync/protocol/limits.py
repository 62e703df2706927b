"""Offline limits both ends agree on when head office has published none: a kiosk that cannot
reach head office may approve spends up to these, for at most ``window_hours`` since it last did."""

DEFAULT_LIMITS = {"window_hours": 24,
                  "fen": {"per_tx": 50000, "member_day": 100000, "kiosk_total": 1000000},
                  "points": {"per_tx": 5000, "member_day": 10000, "kiosk_total": 100000}}
