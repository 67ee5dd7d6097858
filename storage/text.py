"""Text folding shared by the search index and every query against it."""

from __future__ import annotations

import unicodedata

# Letters unicode61's remove_diacritics cannot fold because they are not a base letter plus
# a combining mark; Azerbaijani and Turkish readers type the Latin look-alike.
_SPECIAL = str.maketrans({"ı": "i", "İ": "i", "ə": "e", "Ə": "e", "ß": "ss", "ø": "o", "Ø": "o"})


def fold(text: str) -> str:
    """Lower-case, diacritic-free text: 'Şuşa' -> 'susa', 'Bakı' -> 'baki'."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return stripped.casefold()
