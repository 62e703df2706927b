"""What the kioskctl area modules share: a registry of commands that open what they need themselves."""
from __future__ import annotations

import argparse
from typing import Callable

Handler = Callable[[argparse.Namespace, object], dict]
STANDALONE: dict[tuple[str, ...], Handler] = {}   # (args, cfg) -> result; no ledger opened by cli.main
EXIT_USAGE, EXIT_REFUSED = 2, 3


class CtlError(Exception):
    """A one-line refusal: ``code`` for --json, ``status`` the exit code (2 usage, 3 refused)."""

    def __init__(self, message: str, code: str, status: int = EXIT_REFUSED):
        super().__init__(message)
        self.code, self.status = code, status


def standalone(*path: str):
    def register(fn: Handler) -> Handler:
        STANDALONE[path] = fn
        return fn
    return register


def run(args: argparse.Namespace, cfg, fail: Callable, show: Callable[[dict], None]) -> int:
    """Run a standalone command; refusals and OS errors become one line and an exit code."""
    try:
        result = STANDALONE[args.path](args, cfg)
    except CtlError as exc:
        return fail(args, str(exc), exc.code, exc.status)
    except OSError as exc:
        return fail(args, f"{exc.filename or ''}: {exc.strerror or exc}", "io_error", EXIT_USAGE)
    show(result)
    return 0
