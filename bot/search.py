"""Reading a reader's search: words, filters, and the safe FTS5 expression they become.

User text never reaches FTS5 as syntax: it is folded, cut into words the way the index's
tokenizer cuts them, and every word is re-emitted as a double-quoted string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot import i18n
from bot.domain import Section, fold

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
    # Per word of `words`: the index keys (section_key) of the sections that word names
    # ("karab" while typing names karabakh), so a section's articles match it too.
    named: tuple[tuple[str, ...], ...] = ()

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


def section_key(slug: str) -> str:
    """The one token a section has in the index's `sections` column (see storage/articles.py):
    'climate-and-ecology' -> 'climateandecology'."""
    return fold(slug.replace("-", "").replace("_", ""))


def section_names(section: Section) -> tuple[str, ...]:
    """Every name readers may call a section by: slug, name, aliases, and its name in each
    language the bot speaks (bot/locales/*.toml, [section_name])."""
    names = [section.slug, section.name, *section.aliases]
    names += [n for lang in i18n.LANGUAGES if (n := i18n.section_name(lang, section.slug))]
    return tuple(dict.fromkeys(names))


# Words of a section's name too short to name it alone ("and", "və", "и" in "Climate and
# Ecology"), unless they are the whole name.
_MIN_NAME_WORD = 4
# A word being typed names a section only from this many letters on.
_MIN_PREFIX = 3


@dataclass(frozen=True, slots=True)
class SectionWords:
    """The words that name each section, ready for matching a reader's words against."""

    by_word: Mapping[str, frozenset[str]]  # folded name word -> section keys

    @classmethod
    def of(cls, catalogue: Sequence[Section]) -> SectionWords:
        """The words of every section's names, from the catalogue and the locale files."""
        by_word: dict[str, set[str]] = {}
        for section in catalogue:
            for name in section_names(section):
                found = words(name)
                for word in found:
                    if len(word) >= _MIN_NAME_WORD or len(found) == 1:
                        by_word.setdefault(word, set()).add(section_key(section.slug))
        return cls({w: frozenset(keys) for w, keys in by_word.items()})

    def named(self, word: str, *, prefix: bool) -> tuple[str, ...]:
        """Keys of the sections `word` names: a whole name word, or its start while typing."""
        keys = set(self.by_word.get(word, ()))
        if prefix and len(word) >= _MIN_PREFIX:
            for name_word, more in self.by_word.items():
                if name_word.startswith(word):
                    keys |= more
        return tuple(sorted(keys))


@lru_cache(maxsize=8)
def _section_words(catalogue: tuple[Section, ...]) -> SectionWords:
    return SectionWords.of(catalogue)


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
    prefix = typing and last_is_word and not text[-1:].isspace() and len(found) <= MAX_WORDS
    kept = tuple(found[:MAX_WORDS])
    names = _section_words(tuple(catalogue))
    return SearchQuery(
        words=kept,
        sections=tuple(sections),
        author=tuple(author[:MAX_WORDS]),
        prefix=prefix,
        named=tuple(
            names.named(w, prefix=prefix and i == len(kept) - 1) for i, w in enumerate(kept)
        ),
    )


def quote(word: str) -> str:
    """An FTS5 string: whatever `word` holds, it is matched as text, never as syntax."""
    return '"' + word.replace('"', '""') + '"'


# Where a reader's words are looked for first: `author` answers `by:`, `sections` names.
ABOUT_COLUMNS = "{title tags summary}"


def match_expression(query: SearchQuery, columns: str = "") -> str | None:
    """The FTS5 MATCH expression for `query`, or None when there is nothing to match.

    Words are looked for in `columns` (a column filter), or in every column when it is empty:
    the index of everything (articles_fts) is matched that way, since a column filter would make
    FTS5 read each word's positions in every article's whole text.
    """
    parts = []
    columns = f"{columns} : " if columns else ""
    for i, word in enumerate(query.words):
        term = quote(word) + ("*" if query.prefix and i == len(query.words) - 1 else "")
        named = query.named[i] if i < len(query.named) else ()
        if named:
            keys = " OR ".join(quote(k) for k in named)
            parts.append(f"({columns}{term} OR sections : ({keys}))")
        else:
            parts.append(f"{columns}{term}")
    if query.author:
        # Authors are matched by prefix: "by:mikov" is clearly someone's name being typed.
        parts.append("author : (" + " ".join(quote(w) + "*" for w in query.author) + ")")
    if parts and query.sections:
        # Narrows candidates inside FTS5; storage still checks article_sections exactly.
        wanted = sorted({quote(section_key(slug)) for slug in query.sections})
        parts.append("sections : (" + " OR ".join(wanted) + ")")
    return " AND ".join(parts) or None


def match_tiers(query: SearchQuery) -> tuple[str, ...] | None:
    """The expressions storage.search.find ranks in turn, one per index of TIER_TABLES: the
    words in the headline, tags, section names or summary first (articles_about), then
    anywhere in the article, its text too (articles_fts)."""
    everywhere = match_expression(query)
    if everywhere is None:
        return None
    if not query.words:
        return (everywhere,)
    about = match_expression(query, ABOUT_COLUMNS)
    assert about is not None
    return (about, everywhere)


def found_in(query: SearchQuery, *texts: str) -> bool:
    """Whether every word of `query` is in these texts (the last one as a prefix while typing):
    when the title and summary hold them, they explain the match; else the body's snippet does.
    """
    if not query.words:
        return True
    present = set(words(" ".join(texts)))
    for i, word in enumerate(query.words):
        if word in present or (i < len(query.named) and query.named[i]):
            continue
        typing = query.prefix and i == len(query.words) - 1
        if not (typing and any(p.startswith(word) for p in present)):
            return False
    return True


def matches(topic: Sequence[str], title: str, summary: str) -> bool:
    """A followed topic matches when every one of its words is a word of the title or summary."""
    if not topic:
        return False
    present = set(words(title)) | set(words(summary))
    return all(w in present for w in topic)
