"""The counter kiosk: the local ledger it owns, its touchscreen UI and kioskctl."""
