"""What the command lines (kioskctl, kiosk-hq) show people: one-line errors, no tracebacks.

A usage error is one line on stderr (and, when ``--json`` was asked for, ``{"error", "code"}`` on
stdout) with exit status 2. Output cut short by a closed pipe (``kioskctl journal | head``) ends
quietly with status 141, as a program killed by SIGPIPE would.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Callable, NoReturn

EXIT_USAGE = 2
EXIT_PIPE = 141      # 128 + SIGPIPE


class OneLineParser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line (JSON too when ``--json`` is on the line)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        if "--json" in sys.argv[1:] or "--json" in getattr(self, "argv", ()):
            print(json.dumps({"error": message, "code": "usage"}, ensure_ascii=False))
        sys.exit(EXIT_USAGE)


def guarded(main: Callable[[list[str] | None], int], argv: list[str] | None) -> int:
    """Run a command-line ``main``; a reader that went away is not an error worth a traceback."""
    OneLineParser.argv = tuple(argv or ())
    try:
        status = main(argv)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at /dev/null so that cannot fail either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE
