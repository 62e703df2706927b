"""Head-office reports over the authoritative ledger: plain functions returning data (the console's
pages and ``kiosk-hq report`` both call them)."""
