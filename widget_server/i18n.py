"""English, French and Russian from Babel catalogs (``locale/<lang>/LC_MESSAGES/messages.po``).

The language of the current request lives in a context variable; ``gettext`` reads it, so code
deep in a service can write ``_("…")`` and the text comes out in the reader's language. API
responses stay in English (the middleware sets a language only for pages).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from widget_server.settings import LANGUAGES

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "ru": "Русский"}

current_language: ContextVar[str] = ContextVar("current_language", default="en")


@cache
def translations(language: str) -> Translations:
    """The catalog for a language, compiled in memory from its .po file (no build step)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not path.exists():
        return Translations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # leaves fuzzy (draft) entries out, as msgfmt does
    compiled.seek(0)
    return Translations(fp=compiled)


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


_ = gettext


def N_(message: str) -> str:
    """Marks a message for extraction without translating it now: the errors' default messages
    are English class attributes (the API answers in English); pages translate them on render."""
    return message


@contextmanager
def language(code: str) -> Iterator[None]:
    token = current_language.set(code if code in LANGUAGES else "en")
    try:
        yield
    finally:
        current_language.reset(token)


def negotiate(accept_language: str | None) -> str | None:
    """The best of our languages for an Accept-Language header, or None."""
    if not accept_language:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _sep, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = tag.strip().lower().split("-")[0]
        if code in LANGUAGES and quality > 0:
            ranked.append((-quality, index, code))
    return min(ranked)[2] if ranked else None
