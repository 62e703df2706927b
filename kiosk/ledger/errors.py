"""Errors the ledger raises; each carries a stable code for ``--json`` and the UI."""
from __future__ import annotations


class LedgerError(Exception):
    """Base: ``code`` is stable and machine-readable, the message is for people."""

    code = "ledger_error"

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        if code:
            self.code = code


class InvalidInput(LedgerError):
    """The request itself is malformed (bad amount, unknown option)."""
    code = "invalid_input"


class NotALedger(InvalidInput):
    """The file is missing or is not a ledger made by ``kioskctl init`` (it was left unchanged)."""
    code = "not_a_ledger"


class NotFound(LedgerError):
    """An unknown card, member, transaction, gift, coupon or package."""
    code = "not_found"


class Refused(LedgerError):
    """The request is well-formed but the ledger refuses it (insufficient points, blocked card...)."""
    code = "refused"


class RulesError(LedgerError):
    """The rules file is invalid; the message names the key."""
    code = "bad_rules"
