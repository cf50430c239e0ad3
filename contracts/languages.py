"""Languages as upstream systems and people write them -> a BCP 47 tag (O1).

Orders arrive with ``fr_FR`` (a POSIX locale), ``French``, ``français`` or ``Deutsch`` where
the contract says ``fr-FR``, ``fr``, ``de``. ``language_tag`` reads those; anything else is
left as written, for the tag's own pattern to judge. Names are CLDR's (Babel's data), in
the languages of the scopes, for the languages with a two-letter code; a name given for two
languages reads as neither. The index is built once, on the first name that needs it.
"""

from __future__ import annotations

import re
from functools import cache

from .countries import fold

#: The locales whose names of languages are read.
NAMING_LOCALES = ("en", "de", "fr", "es", "it", "nl", "pt", "pl")

_TAG = re.compile(r"[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*")


def language_tag(written: str) -> str:
    """'fr_FR' -> 'fr-FR'; 'French', 'français', 'DEUTSCH' -> 'fr', 'fr', 'de'; else as written."""
    text = written.strip()
    if _TAG.fullmatch(text):
        return text.replace("_", "-")
    return _names().get(fold(text)) or text


@cache
def _names() -> dict[str, str | None]:
    from babel import Locale  # only when a name is to be read

    codes: dict[str, str | None] = {}
    for locale in NAMING_LOCALES:
        for code, name in Locale(locale).languages.items():
            if len(code) != 2:
                continue  # 'de_AT', 'zh_Hans', three-letter codes: no customer writes those names
            key = fold(name)
            codes[key] = code if codes.get(key, code) == code else None
    return codes
