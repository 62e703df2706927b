"""What the command lines (kioskctl, kiosk-hq) show people: readable tables, one-line errors.

Human output: a result's plain fields as "label  value" lines, each list as a table. Amounts
kept in fen (``*_fen``) are shown in yuan under a yuan label, missing values as "-", yes/no for
flags, and control characters (terminal escapes in a member's name) escaped, never run.
``--json`` prints the result itself.

A usage error is one line on stderr (and, when ``--json`` was asked for, ``{"error", "code"}`` on
stdout) with exit status 2. Output cut short by a closed pipe (``kioskctl journal | head``) ends
quietly with status 141, as a program killed by SIGPIPE would.
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
import unicodedata
from typing import Any, Callable, NoReturn

from .ledger.errors import InvalidInput
from .ledger.money import format_fen

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


def read_pin(prompt: str, from_stdin: bool) -> str:
    """A PIN: one line of stdin (``--pin-stdin``), else a prompt without echo on the terminal; never
    a command-line argument, which every user of the machine can read in ``ps``."""
    if from_stdin:
        line = sys.stdin.readline()
    elif sys.stdin.isatty():
        line = getpass.getpass(prompt)
    else:
        raise InvalidInput("no terminal to ask for a PIN on: give --pin-stdin and the PIN on stdin")
    pin = line.strip()
    if not pin:
        raise InvalidInput("no PIN on stdin")
    return pin


# Columns shown for lists whose rows are large records (the rest stays in --json).
COLUMNS = {
    "journal": ("seq", "at", "kind", "operator", "member_id", "reason"),
    "history": ("at", "kind", "operator", "summary.points", "summary.stored_value_fen", "summary.amount_fen", "tx_id"),
}
_MOMENT = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?(Z|[+-]\d\d:\d\d)$")


def human(result: dict) -> str:
    """A command's result for people: fields first, then one table per list."""
    fields = {k: v for k, v in result.items() if not isinstance(v, list) or not any(isinstance(i, dict) for i in v)}
    blocks = []
    if fields:
        rows = [(label(k), cell(k, v)) for k, v in _flat(fields).items()]
        width = max(_width(name) for name, _ in rows)
        blocks.append("\n".join(f"{_pad(name, width)}  {value}" for name, value in rows))
    for key, items in result.items():
        if key not in fields:
            blocks.append(table(key, items))
    return "\n\n".join(blocks)


def table(key: str, items: list[dict]) -> str:
    rows = [_flat(item) for item in items]
    columns = COLUMNS.get(key) or list(dict.fromkeys(c for row in rows for c in row))
    body = [[label(c) for c in columns]] + [[cell(c, row.get(c)) for c in columns] for row in rows]
    widths = [max(_width(line[i]) for line in body) for i in range(len(columns))]
    lines = ["  ".join(_pad(text, w) for text, w in zip(line, widths)).rstrip() for line in body]
    lines.insert(1, "  ".join("-" * w for w in widths))
    title = [] if key in ("journal", "gifts") else [f"{label(key)}:"]
    return "\n".join(title + lines) if items else f"{label(key)}: none"


def label(key: str) -> str:
    """``principal_fen`` -> ``principal (yuan)``; ``summary.points`` -> ``points``."""
    key = key.rsplit(".", 1)[-1]
    return key[:-4].replace("_", " ") + " (yuan)" if key.endswith("_fen") else key.replace("_", " ")


def cell(key: str, value: Any) -> str:
    if value is None or value == []:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int) and key.endswith("_fen"):
        return format_fen(value)
    if isinstance(value, list):
        return ", ".join(cell("", v) for v in value)
    if isinstance(value, (dict, float)):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    moment = _MOMENT.match(text)
    if moment:
        return f"{moment[1]} {moment[2]}{'Z' if moment[3] == 'Z' else moment[3]}"
    return escape(text)


def escape(text: str) -> str:
    """Control and other unprintable characters as ``\\x1b``-style escapes: shown, never obeyed."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _flat(row: dict, prefix: str = "") -> dict:
    """One level of nesting as dotted keys (``summary.points``); lists of records as their count."""
    out = {}
    for key, value in row.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            out[f"{prefix}{key}"] = len(value)
        else:
            out[f"{prefix}{key}"] = value
    return out


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
