"""gettext catalogues through Babel: the texts people edit are ``locale/<lang>/LC_MESSAGES/kiosk.po``
(English msgids are the source text), ``make translations`` extracts the msgids from the code and
the kv files into ``locale/kiosk.pot``, merges them into each ``.po`` and compiles ``kiosk.mo``.

The app reads the compiled ``.mo``; when it is missing or older than its ``.po`` (a fresh checkout,
a translator's edit) the ``.po`` is compiled in memory instead, so what is shown never lags what
is written. Plurals follow each language's rules (Chinese has one form, English two).
"""
from __future__ import annotations

import ast
import io
import logging
import re
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).with_name("locale")
LANGUAGES = ("zh_CN", "en")
DOMAIN = "kiosk"
KV_CALL = re.compile(r'''\btr\._\(\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*\)''')


def _read_po(lang: str):
    with (LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as po:
        return read_po(po, locale=lang, domain=DOMAIN)


@lru_cache(maxsize=None)
def translations(lang: str) -> NullTranslations:
    """The catalogue for ``lang`` (read once per process)."""
    po = LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    mo = po.with_suffix(".mo")
    try:
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            with mo.open("rb") as compiled:
                return Translations(compiled, DOMAIN)
        buffer = io.BytesIO()
        write_mo(buffer, _read_po(lang))
    except FileNotFoundError:
        log.warning("no catalogue for %s at %s; showing English", lang, po)
        return NullTranslations()
    buffer.seek(0)
    return Translations(buffer, DOMAIN)


def gettext(lang: str, msgid: str) -> str:
    return translations(lang).gettext(msgid)


def ngettext(lang: str, singular: str, plural: str, n: int) -> str:
    return translations(lang).ngettext(singular, plural, n)


def translated(lang: str) -> set[str]:
    """The msgids (singular forms) ``lang``'s catalogue translates."""
    return {m.id if isinstance(m.id, str) else m.id[0] for m in _read_po(lang)
            if m.id and (m.string if isinstance(m.string, str) else all(m.string))}


def extract_kv(fileobj, keywords, comment_tags, options):  # noqa: ARG001 - the names Babel passes
    """Babel extractor for kv files: the ``tr._("...")`` calls in their rules."""
    for lineno, line in enumerate(fileobj.read().decode("utf-8").splitlines(), 1):
        for match in KV_CALL.finditer(line):
            yield lineno, "_", ast.literal_eval(match.group(1)), []
