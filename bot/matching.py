"""Reader-typed section names to sections: case-, accent- and separator-insensitive."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain import Section, fold
from bot.i18n import LANGUAGES, t

MAX_ARGUMENT = 300  # longer than every catalogue listed at once, far shorter than 4,000
_SEPARATORS = re.compile(r"[\s\-_/]+")
_ALL_WORDS = frozenset({"all", "*"} | {fold(t(lang, "btn_all")) for lang in LANGUAGES})


@dataclass(frozen=True, slots=True)
class Resolution:
    """What a list of typed names means: the sections found and the words that matched none."""

    found: tuple[Section, ...]
    unknown: tuple[str, ...]


def key(text: str) -> str:
    """Folded, '&' as 'and', each run of spaces, dashes and underscores as one space."""
    return _SEPARATORS.sub(" ", fold(text).replace("&", " and ")).strip()


def means_all(text: str) -> bool:
    """Whether the reader typed "all" (in any language the bot speaks) or "*"."""
    return fold(text.strip()) in _ALL_WORDS


def _index(sections: Sequence[Section]) -> dict[str, Section]:
    index: dict[str, Section] = {}
    for section in sections:
        index.setdefault(key(section.slug), section)
        index.setdefault(key(section.name), section)
    return index


def resolve(text: str, sections: Sequence[Section]) -> Resolution:
    """Sections named in `text`: comma- or space-separated names or slugs, multi-word names too."""
    index = _index(sections)
    longest = max((len(k.split()) for k in index), default=1)
    found: list[Section] = []
    unknown: list[str] = []
    for chunk in text.split(","):
        raw_words = chunk.split()
        # Each comparable word remembers the typed word it came from, to echo unknowns as typed.
        pairs = [(word, n) for n, raw in enumerate(raw_words) for word in key(raw).split()]
        words = [word for word, _ in pairs]
        start, pending = 0, []
        while start < len(words):
            # Greedy longest match so "climate and ecology" wins over a shorter name inside it.
            for size in range(min(longest, len(words) - start), 0, -1):
                section = index.get(" ".join(words[start : start + size]))
                if section is not None:
                    break
            else:
                pending.append(pairs[start][1])
                start += 1
                continue
            if pending:
                unknown.append(_phrase(raw_words, pending))
                pending = []
            if section not in found:
                found.append(section)
            start += size
        if pending:
            unknown.append(_phrase(raw_words, pending))
        unmatched = [w for n, w in enumerate(raw_words) if not key(w)]
        if unmatched and not words:
            unknown.append(" ".join(unmatched))  # only symbols, e.g. "&" or "—"
    return Resolution(tuple(found), tuple(unknown))


def _phrase(raw_words: list[str], positions: list[int]) -> str:
    return " ".join(raw_words[n] for n in dict.fromkeys(positions))


def closest(name: str, sections: Sequence[Section], limit: int = 3) -> list[Section]:
    """The sections whose name or slug looks most like `name`, best first."""
    index = _index(sections)
    matches = difflib.get_close_matches(key(name), list(index), n=limit * 2, cutoff=0.6)
    result: list[Section] = []
    for match in matches:
        if index[match] not in result:
            result.append(index[match])
    return result[:limit]


def from_payload(payload: str, sections: Sequence[Section]) -> tuple[Section, ...] | None:
    """Sections of a /start deep-link payload ('opinion-defense'); None if any part is unknown."""
    by_slug = {s.slug: s for s in sections}
    parts = payload.lower().split("-")
    found: list[Section] = []
    start = 0
    while start < len(parts):
        # Slugs contain dashes too ('climate-and-ecology'), so try the longest slug first.
        for end in range(len(parts), start, -1):
            section = by_slug.get("-".join(parts[start:end]))
            if section is not None:
                break
        else:
            return None
        if section not in found:
            found.append(section)
        start = end
    return tuple(found) if found else None
