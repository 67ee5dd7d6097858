"""Rendering: an article (or a digest, or a broadcast) becomes a Telegram message, pure."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions

from bot import i18n
from bot.domain import Article, ChatSettings

MAX_TEXT = 4096  # UTF-16 code units of text after entity parsing
DIGEST_MAX_ITEMS = 40  # links per digest message; keeps entity counts far from any limit
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class Rendered:
    """One message ready for send_message: HTML text, its plain fallback, button and preview."""

    text: str
    plain: str
    reply_markup: InlineKeyboardMarkup | None = None
    link_preview: LinkPreviewOptions | None = None


def language(lang: str | None) -> str:
    """A language the catalogues have, English when unknown."""
    return i18n.supported(lang) or i18n.DEFAULT


def utf16_len(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


def trim(text: str, budget: int) -> str:
    """`text` cut to at most `budget` UTF-16 units, at a word boundary, with an ellipsis."""
    if utf16_len(text) <= budget:
        return text
    if budget <= 1:
        return ""
    cut = text.encode("utf-16-le")[: (budget - 1) * 2].decode("utf-16-le", errors="ignore")
    word_end = cut.rfind(" ")
    if word_end > len(cut) // 2:
        cut = cut[:word_end]
    return cut.rstrip(" ,.;:-–—") + ELLIPSIS


def format_date(when: datetime, lang: str, tz: tzinfo) -> str:
    """The date and local time in the reader's language and the chat's time zone."""
    local = when.astimezone(tz)
    return f"{i18n.format_date(local, lang)}, {local:%H:%M}"


def with_utm(url: str, utm: str | None, campaign: str = "") -> str:
    """The link with UTM parameters added; `utm` is a query string or just the source name."""
    if not utm:
        return url
    if "=" in utm:
        extra = parse_qsl(utm, keep_blank_values=True)
    else:
        extra = [("utm_source", utm), ("utm_medium", "telegram")]
        if campaign:
            extra.append(("utm_campaign", campaign))
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    present = {k for k, _ in query}
    query += [(k, v) for k, v in extra if k not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


def instant_view(url: str, rhash: str | None) -> str:
    """The t.me/iv link that opens `url` in Instant View with a publisher's template; `url` as
    is when no template hash is configured."""
    if not rhash:
        return url
    return "https://t.me/iv?" + urlencode({"url": url, "rhash": rhash})


def _valid_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and len(url) <= 2048


def article_message(
    article: Article,
    settings: ChatSettings,
    lang_code: str | None,
    *,
    section_names: Mapping[str, str],
    tz: tzinfo,
    utm: str | None = None,
    iv_rhash: str | None = None,
) -> Rendered:
    """The push for one article, in the chat's style and language, within Telegram's limits.

    With `iv_rhash` (NEWSBOT_IV_RHASH) the button and the preview open the article in Instant
    View through the publisher's template."""
    lang = language(lang_code)
    meta_parts = [section_names.get(s, s) for s in article.sections]
    meta = [", ".join(meta_parts)] if meta_parts else []
    if article.author:
        meta.append(article.author)
    if article.published is not None:
        meta.append(format_date(article.published, lang, tz))
    if article.reading_minutes:
        meta.append(i18n.t(lang, "min_read", minutes=article.reading_minutes))
    title = article.title.strip() or article.url
    meta_line = " · ".join(m.strip() for m in meta if m.strip())
    head_plain = title + (f"\n{meta_line}" if meta_line else "")
    summary = article.summary.strip() if settings.style == "full" else ""
    budget = MAX_TEXT - utf16_len(head_plain) - 2
    if utf16_len(head_plain) > MAX_TEXT:
        title = trim(title, MAX_TEXT - utf16_len(meta_line) - 1)
        head_plain = title + (f"\n{meta_line}" if meta_line else "")
        budget = 0
    summary = trim(summary, budget) if summary else ""
    head_html = f"<b>{html.escape(title)}</b>" + (
        f"\n<i>{html.escape(meta_line)}</i>" if meta_line else ""
    )
    text = head_html + (f"\n\n{html.escape(summary)}" if summary else "")
    plain = head_plain + (f"\n\n{summary}" if summary else "")
    markup = None
    preview = LinkPreviewOptions(is_disabled=True)
    if _valid_url(article.url):
        campaign = article.sections[0] if article.sections else ""
        link = instant_view(with_utm(article.url, utm, campaign), iv_rhash)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(i18n.t(lang, "read_more"), url=link)]])
        if settings.link_preview:
            shown = instant_view(article.url, iv_rhash)
            preview = LinkPreviewOptions(url=shown, prefer_large_media=True)
    return Rendered(text, plain, markup, preview)


def digest_messages(
    groups: Sequence[tuple[str, Sequence[Article]]], lang_code: str | None
) -> list[Rendered]:
    """A digest: headlines as links grouped by section, split so each message fits."""
    header_plain = i18n.t(language(lang_code), "digest_title")
    header = f"<b>{html.escape(header_plain)}</b>"
    messages: list[Rendered] = []
    lines: list[str] = [header]
    plain_lines: list[str] = [header_plain]
    size = utf16_len(header_plain)
    items = 0

    def flush() -> None:
        nonlocal lines, plain_lines, size, items
        if items:
            messages.append(
                Rendered(
                    "\n".join(lines),
                    "\n".join(plain_lines),
                    link_preview=LinkPreviewOptions(is_disabled=True),
                )
            )
        lines, plain_lines, size, items = [header], [header_plain], utf16_len(header_plain), 0

    for section_name, articles in groups:
        heading_plain = f"\n{section_name}"
        heading = f"\n<b>{html.escape(section_name)}</b>"
        first = True
        for article in articles:
            title = trim(article.title.strip() or article.url, 300)
            entry_plain = f"• {title}"
            entry = (
                f'• <a href="{html.escape(article.url, quote=True)}">{html.escape(title)}</a>'
                if _valid_url(article.url)
                else f"• {html.escape(title)}"
            )
            cost = utf16_len(entry_plain) + 1 + (utf16_len(heading_plain) + 1 if first else 0)
            if items >= DIGEST_MAX_ITEMS or size + cost > MAX_TEXT:
                flush()
                first = True
                cost = utf16_len(entry_plain) + 1 + utf16_len(heading_plain) + 1
            if first:
                lines.append(heading)
                plain_lines.append(heading_plain)
                first = False
            lines.append(entry)
            plain_lines.append(entry_plain)
            size += cost
            items += 1
    flush()
    return messages


def broadcast_message(text: str) -> Rendered:
    """An admin announcement, sent as the admin typed it (escaped, never parsed as markup)."""
    body = trim(text.strip(), MAX_TEXT)
    return Rendered(html.escape(body), body, link_preview=LinkPreviewOptions(is_disabled=True))
