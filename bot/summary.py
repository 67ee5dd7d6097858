"""The lead of an article as clean plain text, cut where a reader would stop."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

ELLIPSIS = "…"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Blocks that end a paragraph; their text is kept apart from the next block.
_BLOCKS = _words(
    "p div br li ul ol h1 h2 h3 h4 h5 h6 blockquote section article header footer "
    "table tr td th pre hr dd dt dl"
)
# Elements whose text is never part of the lead.
_SKIP = _words("script style noscript figure figcaption iframe svg form button nav aside")
_VOID = _words("br hr img input meta link source wbr area base col embed param track")
_SKIP_CLASSES = ("wp-caption", "caption", "sharedaddy", "jp-relatedposts", "more-link")

_WS = re.compile(r"\s+")
_FOOTER = re.compile(r"\s*The post\b.{1,400}?\bappeared first on\b.*$", re.S | re.I)
_MORE = re.compile(
    r"\s*(?:\[\s*(?:…|\.\.\.|&hellip;|&#8230;)\s*\]"
    r"|(?:Continue|Keep) reading\b.*$"
    r"|Read (?:more|the full (?:article|story))\b.*$)",
    re.I | re.S,
)
_TRUNCATED = re.compile(r"\[\s*(?:…|\.\.\.)\s*\]|\b(?:Continue|Keep) reading\b", re.I)
_CAPTION_MARK = re.compile(
    r"(?:^|\b)(?:Photo|Photos|Image|Picture|Credit|Source|Foto|Şəkil)\s*(?:by\b|:|©)|©",
    re.I,
)
_SENTENCE_END = re.compile(r"[.!?…][\"”’»)\]]*(?=\s)")
_ABBREVIATIONS = _words(
    "mr mrs ms dr st vs etc e.g i.e jr sr no prof gen col lt sgt rep sen gov inc ltd co "
    "u.s u.k u.n a.m p.m approx jan feb mar apr jun jul aug sep sept oct nov dec"
)


class _TextCollector(HTMLParser):
    """Paragraph texts of an HTML fragment, minus captions, scripts and share widgets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self.captions: list[str] = []
        self._buffer: list[str] = []
        self._caption: list[str] = []
        self._caption_depth = 0  # skip-stack depth at which a caption element opened
        self._skip_stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = " ".join(v or "" for k, v in attrs if k == "class").lower()
        skipped = tag in _SKIP or any(c in classes for c in _SKIP_CLASSES)
        if (tag == "figcaption" or "caption" in classes) and not self._caption_depth:
            self._caption_depth = len(self._skip_stack) + 1
        if (self._skip_stack or skipped) and tag not in _VOID:
            self._skip_stack.append(tag)
        elif tag in _BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if self._skip_stack:
            # Tolerate sloppy markup: unwind to the matching open tag if there is one.
            if tag in self._skip_stack:
                while self._skip_stack and self._skip_stack.pop() != tag:
                    pass
            if self._caption_depth > len(self._skip_stack):
                self._caption_depth = 0
                caption = _WS.sub(" ", "".join(self._caption)).strip()
                self._caption.clear()
                if caption:
                    self.captions.append(caption)
            return
        if tag in _BLOCKS:
            self._flush()

    def handle_data(self, data: str) -> None:
        if not self._skip_stack:
            self._buffer.append(data)
        elif self._caption_depth:
            self._caption.append(data)

    def _flush(self) -> None:
        text = _WS.sub(" ", "".join(self._buffer)).strip()
        self._buffer.clear()
        if text:
            self.paragraphs.append(text)

    def close(self) -> None:
        super().close()
        self._flush()


@dataclass(frozen=True, slots=True)
class Text:
    """A fragment's paragraphs, the image captions it carried, and whether it was cut short."""

    paragraphs: tuple[str, ...]
    captions: tuple[str, ...] = ()
    truncated: bool = False


def _decoded(text: str) -> str:
    # Entities double-encoded by the CMS (&amp;#8217;) survive one decoding pass.
    return html.unescape(text) if "&" in text else text


def read(fragment: str) -> Text:
    """Plain-text paragraphs and captions of an HTML (or plain-text) fragment."""
    if "<" not in fragment:
        text = html.unescape(fragment)
        paras = tuple(p for p in (_WS.sub(" ", b).strip() for b in re.split(r"\n\s*\n", text)) if p)
        return Text(paras, (), bool(_TRUNCATED.search(text)))
    collector = _TextCollector()
    collector.feed(fragment)
    collector.close()
    paras = tuple(_decoded(p) for p in collector.paragraphs)
    truncated = any(_TRUNCATED.search(p) for p in paras)
    return Text(paras, tuple(_decoded(c) for c in collector.captions), truncated)


def paragraphs(fragment: str) -> list[str]:
    """Plain-text paragraphs of an HTML (or plain-text) fragment."""
    return list(read(fragment).paragraphs)


def _is_caption(paragraph: str) -> bool:
    """A photo caption or credit line, the kind WordPress puts above the first paragraph."""
    if len(paragraph) > 300:
        return False
    if _CAPTION_MARK.search(paragraph):
        return True
    # Alt-text leftovers such as "Pelosi armenia 1308x873": short, no sentence punctuation.
    return len(paragraph) < 60 and not re.search(r"[.!?…:;]\s*$", paragraph)


def clean(paras: Iterable[str], captions: Iterable[str] = ()) -> str:
    """Paragraphs joined into one lead, without leading captions and WordPress boilerplate.

    `captions` are the article's image captions: WordPress's automatic excerpt glues the first
    one to the start of the lead ("Photo: AZERTAC Şuşa hosts…"), so a lead starting with one
    loses it.
    """
    return _WS.sub(" ", " ".join(_kept(paras, captions))).strip()


def _kept(paras: Iterable[str], captions: Iterable[str]) -> list[str]:
    """The paragraphs a reader reads: boilerplate, leading captions and glued captions gone."""
    kept = [t for t in (_MORE.sub("", _FOOTER.sub("", p)).strip() for p in paras) if t]
    # A caption only counts as one when something follows it; a lone short line is the lead.
    while len(kept) > 1 and _is_caption(kept[0]):
        kept.pop(0)
    if not kept:
        return kept
    first = _WS.sub(" ", kept[0]).strip()
    for caption in sorted(set(captions), key=len, reverse=True):
        if first.startswith(caption) and (len(first) > len(caption) or len(kept) > 1):
            first = first[len(caption) :].lstrip()
            break
    return [first, *kept[1:]] if first else kept[1:]


def _sentence_ends(text: str) -> list[int]:
    """Offsets just after each sentence end, skipping common abbreviations and initials."""
    ends = []
    for match in _SENTENCE_END.finditer(text):
        start = match.start()
        word = text[:start].rsplit(None, 1)[-1] if text[:start].strip() else ""
        bare = word.lower().lstrip('("“‘«')
        if text[start] == "." and (bare in _ABBREVIATIONS or (len(bare) == 1 and bare.isalpha())):
            continue
        ends.append(match.end())
    return ends


def cut(text: str, low: int, high: int, *, truncated: bool = False) -> str:
    """Cut at the last sentence end in [low, high]; else at a word boundary with an ellipsis.

    A `truncated` text (an excerpt the CMS cut mid-sentence) is never returned as it ends.
    """
    if len(text) <= high and not truncated:
        return text
    ends = [e for e in _sentence_ends(text + " ") if low <= e <= high]
    if ends:
        return text[: ends[-1]].rstrip()
    if len(text) <= high:
        # The CMS already cut this text mid-sentence: a whole sentence, even a shorter one,
        # reads better than a dangling clause.
        shorter = [e for e in _sentence_ends(text + " ") if low // 2 <= e < low]
        if shorter:
            return text[: shorter[-1]].rstrip()
        return text.rstrip(" ,;:–—-") + ELLIPSIS
    head = text[: high - len(ELLIPSIS) + 1]
    space = head.rfind(" ")
    if space > 0:
        head = head[:space]
    return head.rstrip(" ,;:–—-") + ELLIPSIS


def lead(sources: Sequence[str], low: int = 200, high: int = 400) -> str:
    """The summary from the first source giving at least `low` characters, else the longest.

    `sources` are HTML or plain-text fragments in order of preference (excerpt, full content,
    page paragraphs); captions found in any of them are kept out of the lead.
    """
    texts = [read(s) for s in sources if s and s.strip()]
    captions = [c for t in texts for c in t.captions]
    best, best_truncated = "", False
    for source in texts:
        text = clean(source.paragraphs, captions)
        if len(text) >= low:
            return cut(text, low, high, truncated=source.truncated)
        if len(text) > len(best):
            best, best_truncated = text, source.truncated
    return cut(best, low, high, truncated=best_truncated)


def body(fragment: str) -> str:
    """An article's whole text, cleaned as its lead is: one paragraph a line."""
    source = read(fragment)
    return "\n".join(_WS.sub(" ", p).strip() for p in _kept(source.paragraphs, source.captions))


def is_thin(summary: str, low: int) -> bool:
    """Too short to stand as a lead: worth reading the article page for a better one."""
    return len(summary) < low


def word_count(fragment: str) -> int:
    """Words in an HTML fragment's text."""
    return sum(len(p.split()) for p in paragraphs(fragment))
