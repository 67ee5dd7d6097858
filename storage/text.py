"""Text folding shared by the search index and every query against it."""

from __future__ import annotations

import re
import unicodedata

# Letters unicode61's remove_diacritics cannot fold because they are not a base letter plus
# a combining mark; Azerbaijani and Turkish readers type the Latin look-alike.
_SPECIAL = {"ı": "i", "İ": "i", "ə": "e", "Ə": "e", "ß": "ss", "ø": "o", "Ø": "o"}
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _without_marks(run: re.Match[str]) -> str:
    return "".join(c for c in run.group() if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Lower-case, diacritic-free text: 'Şuşa' -> 'susa', 'Bakı' -> 'baki'.

    Article bodies make this hot (ingest, the search migration): ASCII text and ASCII runs skip
    the per-character work, with the same result as folding every character.
    """
    if text.isascii():
        return text.lower()
    for letter, plain in _SPECIAL.items():
        text = text.replace(letter, plain)
    decomposed = unicodedata.normalize("NFKD", text)
    if not decomposed.isascii():
        decomposed = _NON_ASCII.sub(_without_marks, decomposed)
    return decomposed.casefold()
