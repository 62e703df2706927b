"""gettext ``.po`` catalogues, read by a tiny parser (no compiled ``.mo`` files to keep in step).

Catalogues live in ``locale/<lang>/LC_MESSAGES/kiosk.po``. English msgids are the source text, so
an empty ``msgstr`` (or a missing entry) falls back to the msgid.
"""
from __future__ import annotations

import ast
import logging
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("zh_CN", "en")
DOMAIN = "kiosk"


def parse_po(text: str) -> dict[str, str]:
    """msgid -> msgstr for every entry with a non-empty translation."""
    entries: dict[str, str] = {}
    field, parts = None, {"msgid": [], "msgstr": []}

    def flush() -> None:
        msgid, msgstr = "".join(parts["msgid"]), "".join(parts["msgstr"])
        if msgid and msgstr:
            entries[msgid] = msgstr
        parts["msgid"], parts["msgstr"] = [], []

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if keyword in ("msgid", "msgstr"):
            if keyword == "msgid" and field == "msgstr":
                flush()
            field, line = keyword, rest.strip()
        if field is None or not line.startswith('"'):
            raise ValueError(f"line {number}: cannot parse {raw!r}")
        parts[field].append(ast.literal_eval(line))
    flush()
    return entries


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """The translations for ``lang`` (cached: catalogues are read once per process)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    try:
        return parse_po(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.warning("no catalogue for %s at %s; showing English", lang, path)
        return {}


def gettext(lang: str, msgid: str) -> str:
    return catalogue(lang).get(msgid, msgid)
