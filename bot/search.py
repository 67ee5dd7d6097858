"""Reading a reader's search: words, filters, and the safe FTS5 expression they become.

User text never reaches FTS5 as syntax: it is folded, cut into words the way the index's
tokenizer cuts them, and every word is re-emitted as a double-quoted string.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import Section
from storage.text import fold

MAX_WORDS = 16
MAX_WORD_CHARS = 64
AUTHOR_PREFIX = "by:"

# unicode61 treats letters and numbers as token characters and everything else (punctuation,
# emoji, symbols, the underscore) as a separator; this is the same cut on already-folded text.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What a reader asked for: folded words, section slugs and author words."""

    words: tuple[str, ...] = ()
    sections: tuple[str, ...] = ()
    author: tuple[str, ...] = ()
    prefix: bool = False  # the last word is still being typed

    @property
    def empty(self) -> bool:
        """No words and no author: the reader is browsing, not searching."""
        return not self.words and not self.author

    def text(self) -> str:
        """A normalised, human-readable form (used to store followed topics)."""
        return " ".join(self.words)


def words(text: str) -> tuple[str, ...]:
    """Folded words of `text`, cut as the search index cuts them."""
    return tuple(w[:MAX_WORD_CHARS] for w in _WORD.findall(fold(text)))


def _key(text: str) -> str:
    return "".join(words(text))


def _section(token: str, catalogue: Sequence[Section]) -> tuple[str, ...]:
    """Slugs a `#token` means: exact slug or name, else a unique prefix; parents bring children."""
    key = _key(token)
    if not key:
        return ()
    found = [s for s in catalogue if key in (_key(s.slug), _key(s.name))]
    if not found:
        starts = [
            s for s in catalogue if _key(s.slug).startswith(key) or _key(s.name).startswith(key)
        ]
        found = starts if len(starts) == 1 else []
    slugs = [s.slug for s in found]
    slugs += [s.slug for s in catalogue if s.parent in slugs and s.slug not in slugs]
    return tuple(slugs)


def parse(text: str, catalogue: Sequence[Section] = (), *, typing: bool = True) -> SearchQuery:
    """Split a query into words, `#section` filters and `by:author` words.

    With `typing`, a last word not followed by a space is matched as a prefix, so results
    appear while the reader types ("karab" finds Karabakh).
    """
    found: list[str] = []
    sections: list[str] = []
    author: list[str] = []
    last_is_word = False
    for token in text.split():
        last_is_word = False
        if token.startswith("#") and (slugs := _section(token[1:], catalogue)):
            sections += [s for s in slugs if s not in sections]
        elif token.casefold().startswith(AUTHOR_PREFIX):
            author += words(token[len(AUTHOR_PREFIX) :])
        else:
            new = words(token)
            found += new
            last_is_word = bool(new)
    prefix = typing and last_is_word and not text[-1:].isspace()
    return SearchQuery(
        words=tuple(found[:MAX_WORDS]),
        sections=tuple(sections),
        author=tuple(author[:MAX_WORDS]),
        prefix=prefix and len(found) <= MAX_WORDS,
    )


def quote(word: str) -> str:
    """An FTS5 string: whatever `word` holds, it is matched as text, never as syntax."""
    return '"' + word.replace('"', '""') + '"'


def match_expression(query: SearchQuery) -> str | None:
    """The FTS5 MATCH expression for `query`, or None when there is nothing to match."""
    parts = []
    if query.words:
        terms = [quote(w) for w in query.words]
        if query.prefix:
            terms[-1] += "*"
        parts.append("{title summary} : (" + " ".join(terms) + ")")
    if query.author:
        # Authors are matched by prefix: "by:mikov" is clearly someone's name being typed.
        parts.append("author : (" + " ".join(quote(w) + "*" for w in query.author) + ")")
    if parts and query.sections:
        # The index's `sections` column holds the folded slugs (storage/articles.py), so the
        # filter narrows candidates inside FTS5; storage still checks article_sections exactly,
        # which lets one (the longest) word stand for a slug: a phrase with "and" in it would
        # walk the doclist of the commonest word in the archive.
        slugs = sorted({quote(max(words(slug) or ("",), key=len)) for slug in query.sections})
        parts.append("sections : (" + " OR ".join(slugs) + ")")
    return " AND ".join(parts) or None


def matches(topic: Sequence[str], title: str, summary: str) -> bool:
    """A followed topic matches when every one of its words is a word of the title or summary."""
    if not topic:
        return False
    present = set(words(title)) | set(words(summary))
    return all(w in present for w in topic)
