"""What the news-site double serves, as pure functions of its posts and categories.

The markup copies what WordPress 6 (with Yoast SEO, as on Aze.Media) writes, quirks included:
`&#038;` in RSS titles, `[&#8230;]` after auto-excerpts, the "appeared first on" footer,
image captions leading the content, local times in REST `date` next to UTC `date_gmt`.
"""

from __future__ import annotations

import html
import json
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

SITE_NAME = "Aze.Media"
TAGLINE = "Daily Digest"
GENERATOR = "https://wordpress.org/?v=6.8.1"
SITE_OFFSET = timedelta(hours=4)  # Asia/Baku: REST `date` fields are in site-local time
EXCERPT_WORDS = 55


@dataclass(frozen=True)
class Image:
    url: str
    caption: str = ""
    width: int = 1200
    height: int = 800


@dataclass(frozen=True)
class Category:
    id: int
    slug: str
    name: str
    parent: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Post:
    id: int
    slug: str
    title: str  # plain text as the editor typed it (straight or curly quotes)
    content: str  # HTML body without the leading figure
    author: str
    published: datetime  # aware, UTC
    modified: datetime
    categories: tuple[str, ...]  # category slugs, in the order WordPress lists them
    excerpt: str | None = None  # manual excerpt (plain text); None = WordPress's auto-excerpt
    image: Image | None = None  # featured image
    caption_first: bool = False  # the content starts with the image and its caption
    media: bool = False  # the feed item carries <media:content> and <enclosure>
    feed_content: bool = True  # False: no <content:encoded> for this item
    tags: tuple[str, ...] = ()  # tag names, in the order WordPress lists them

    @property
    def media_id(self) -> int:
        return self.id + 1 if self.image else 0


@dataclass(frozen=True)
class Site:
    """Everything a rendering needs to know about the site besides the posts."""

    url: str  # http://127.0.0.1:PORT, no trailing slash
    categories: Sequence[Category]

    def category(self, slug: str) -> Category | None:
        return next((c for c in self.categories if c.slug == slug), None)

    def category_path(self, slug: str) -> str:
        """WordPress's hierarchical category path: news/economy."""
        cat = self.category(slug)
        if cat is None or cat.parent is None:
            return slug
        return f"{self.category_path(cat.parent)}/{slug}"

    def category_link(self, slug: str) -> str:
        return f"{self.url}/category/{self.category_path(slug)}/"

    def descendants(self, slug: str) -> set[str]:
        """The slug and all categories below it (a category archive includes them)."""
        found = {slug}
        grew = True
        while grew:
            more = {c.slug for c in self.categories if c.parent in found} - found
            found |= more
            grew = bool(more)
        return found

    def link(self, post: Post) -> str:
        return f"{self.url}/{post.published:%Y/%m/%d}/{post.slug}/"

    def guid(self, post: Post) -> str:
        return f"{self.url}/?p={post.id}"

    def author_id(self, name: str) -> int:
        return AUTHORS.index(name) + 1 if name in AUTHORS else 100 + sum(map(ord, name)) % 900

    def tag_id(self, name: str) -> int:
        """A tag's term id; WordPress numbers tags and categories from one sequence."""
        return 5000 + zlib.crc32(name.encode()) % 90000

    def tag_slug(self, name: str) -> str:
        return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or str(self.tag_id(name))

    def image_url(self, image: Image) -> str:
        return image.url if "://" in image.url else self.url + image.url


AUTHORS = [
    "AzeMedia",
    "Nikola Mikovic",
    "Ayşən Qasımova",
    "Fuad Muxtarlı",
    "Leyla Əliyeva",
    "Orxan Əmənov",
]


# --- text helpers -------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]+>")


def texturize(text: str) -> str:
    """A title as WordPress renders it: escaped, straight quotes and dashes turned to entities."""
    out = html.escape(text, quote=False)
    out = re.sub(r"(?<=\w)'", "&#8217;", out)
    out = re.sub(r"'(?=\w)", "&#8216;", out)
    out = re.sub(r'"(?=\w)', "&#8220;", out)
    out = out.replace('"', "&#8221;")
    out = out.replace(" - ", " &#8211; ").replace("...", "&#8230;")
    return out


def rss_title(post: Post) -> str:
    # the_title_rss() runs esc_html, which writes & as &#038;
    return texturize(post.title).replace("&amp;", "&#038;")


def plain(html_text: str) -> str:
    """Tags stripped and whitespace collapsed; entities kept, as wp_trim_words leaves them."""
    return " ".join(_TAG.sub(" ", html_text).split())


def figure(site: Site, image: Image) -> str:
    src = site.image_url(image)
    caption = (
        f'<figcaption class="wp-element-caption">{image.caption}</figcaption>'
        if image.caption
        else ""
    )
    return (
        f'<figure class="wp-block-image size-large"><img decoding="async" '
        f'width="{image.width}" height="{image.height}" src="{src}" alt="" '
        f'class="wp-image-{zlib.crc32(src.encode()) % 100000}" />{caption}</figure>'
    )


def full_content(site: Site, post: Post) -> str:
    """content.rendered / content:encoded: the body, preceded by the figure when so written."""
    lead = figure(site, post.image) + "\n" if post.caption_first and post.image else ""
    return lead + post.content


def excerpt_html(site: Site, post: Post) -> str:
    """The excerpt text with WordPress's `[&hellip;]` when it was cut automatically."""
    if post.excerpt is not None:
        return html.escape(post.excerpt, quote=False)
    words = plain(full_content(site, post)).split()
    text = " ".join(words[:EXCERPT_WORDS])
    return text + " [&hellip;]" if len(words) > EXCERPT_WORDS else text


def reading_minutes(post: Post) -> int:
    return max(1, math.ceil(len(plain(post.content).split()) / 200))


def paragraphs_to_html(paragraphs: Sequence[str]) -> str:
    return "\n".join(f"<p>{p}</p>" for p in paragraphs) + "\n"


def cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def rfc822(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC))


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- RSS 2.0 and Atom ---------------------------------------------------------------------


def last_build(posts: Sequence[Post]) -> datetime:
    """WordPress's lastBuildDate: the newest modification among the items."""
    if not posts:
        return datetime(2021, 4, 1, tzinfo=UTC)
    return max(p.modified for p in posts)


def rss_feed(site: Site, posts: Sequence[Post], *, slug: str | None, self_url: str) -> str:
    if slug is None:
        title, link, description = SITE_NAME, site.url, TAGLINE
    else:
        cat = site.category(slug)
        assert cat is not None
        title = f"{html.escape(cat.name)} Archives - {SITE_NAME}"
        link = site.category_link(slug)
        description = html.escape(cat.description) or TAGLINE
    items = "".join(rss_item(site, p) for p in posts)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"\n'
        '\txmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
        '\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n'
        '\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '\txmlns:atom="http://www.w3.org/2005/Atom"\n'
        '\txmlns:sy="http://purl.org/rss/1.0/modules/syndication/"\n'
        '\txmlns:slash="http://purl.org/rss/1.0/modules/slash/"\n'
        '\txmlns:media="http://search.yahoo.com/mrss/"\n'
        "\t>\n\n<channel>\n"
        f"\t<title>{title}</title>\n"
        f'\t<atom:link href="{html.escape(self_url)}" rel="self" type="application/rss+xml" />\n'
        f"\t<link>{link}</link>\n"
        f"\t<description>{description}</description>\n"
        f"\t<lastBuildDate>{rfc822(last_build(posts))}</lastBuildDate>\n"
        "\t<language>en-US</language>\n"
        "\t<sy:updatePeriod>\n\thourly\t</sy:updatePeriod>\n"
        "\t<sy:updateFrequency>\n\t1\t</sy:updateFrequency>\n"
        f"\t<generator>{GENERATOR}</generator>\n\n"
        "<image>\n"
        f"\t<url>{site.url}/wp-content/uploads/2021/04/cropped-favicon-32x32.png</url>\n"
        f"\t<title>{title}</title>\n\t<link>{link}</link>\n"
        "\t<width>32</width>\n\t<height>32</height>\n</image> \n"
        f"{items}\t</channel>\n</rss>\n"
    )


def rss_item(site: Site, post: Post) -> str:
    link = site.link(post)
    categories = "".join(
        f"\t\t<category>{cdata(c.name)}</category>\n"
        for slug in post.categories
        if (c := site.category(slug))
    ) + "".join(f"\t\t<category>{cdata(tag)}</category>\n" for tag in post.tags)
    footer = (
        f'<p>The post <a href="{link}">{texturize(post.title)}</a> appeared first on '
        f'<a href="{site.url}">{SITE_NAME}</a>.</p>\n'
    )
    description = excerpt_html(site, post).replace("&hellip;", "&#8230;") + footer
    content = (
        f"\t\t<content:encoded>{cdata(full_content(site, post))}</content:encoded>\n"
        if post.feed_content
        else ""
    )
    media = ""
    if post.media and post.image:
        src = html.escape(site.image_url(post.image))
        media = (
            f'\t\t<media:content url="{src}" medium="image" width="{post.image.width}" '
            f'height="{post.image.height}" />\n'
            f'\t\t<enclosure url="{src}" length="{post.image.width * 97}" type="image/jpeg" />\n'
        )
    return (
        "\t<item>\n"
        f"\t\t<title>{rss_title(post)}</title>\n"
        f"\t\t<link>{link}</link>\n"
        f"\t\t<dc:creator>{cdata(post.author)}</dc:creator>\n"
        f"\t\t<pubDate>{rfc822(post.published)}</pubDate>\n"
        f"{categories}"
        f'\t\t<guid isPermaLink="false">{site.guid(post)}</guid>\n'
        f"\t\t<description>{cdata(description)}</description>\n"
        f"{content}{media}"
        "\t</item>\n"
    )


def atom_feed(site: Site, posts: Sequence[Post], *, slug: str | None, self_url: str) -> str:
    if slug is None:
        title, link = SITE_NAME, site.url
    else:
        cat = site.category(slug)
        assert cat is not None
        title, link = f"{html.escape(cat.name)} Archives - {SITE_NAME}", site.category_link(slug)
    entries = "".join(atom_entry(site, p) for p in posts)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed\n'
        '  xmlns="http://www.w3.org/2005/Atom"\n'
        '  xmlns:thr="http://purl.org/syndication/thread/1.0"\n'
        '  xml:lang="en-US"\n  >\n'
        f'\t<title type="text">{title}</title>\n'
        f'\t<subtitle type="text">{TAGLINE}</subtitle>\n\n'
        f"\t<updated>{iso(last_build(posts))}</updated>\n\n"
        f'\t<link rel="alternate" type="text/html" href="{link}" />\n'
        f"\t<id>{html.escape(self_url)}</id>\n"
        f'\t<link rel="self" type="application/atom+xml" href="{html.escape(self_url)}" />\n\n'
        '\t<generator uri="https://wordpress.org/" version="6.8.1">WordPress</generator>\n'
        f"{entries}</feed>\n"
    )


def atom_entry(site: Site, post: Post) -> str:
    link = site.link(post)
    categories = "".join(
        f'\t\t<category scheme="{site.url}" term="{html.escape(c.name)}" />\n'
        for slug in post.categories
        if (c := site.category(slug))
    ) + "".join(
        f'\t\t<category scheme="{site.url}" term="{html.escape(tag)}" />\n' for tag in post.tags
    )
    content = (
        f'\t\t<content type="html" xml:base="{link}">{cdata(full_content(site, post))}</content>\n'
        if post.feed_content
        else ""
    )
    summary = excerpt_html(site, post).replace("&hellip;", "&#8230;")
    return (
        "\t<entry>\n"
        "\t\t<author>\n"
        f"\t\t\t<name>{html.escape(post.author)}</name>\n"
        "\t\t\t</author>\n\n"
        f'\t\t<title type="html">{cdata(texturize(post.title))}</title>\n'
        f'\t\t<link rel="alternate" type="text/html" href="{link}" />\n\n'
        f"\t\t<id>{site.guid(post)}</id>\n"
        f"\t\t<updated>{iso(post.modified)}</updated>\n"
        f"\t\t<published>{iso(post.published)}</published>\n"
        f"{categories}"
        f'\t\t<summary type="html">{cdata(summary)}</summary>\n'
        f"{content}"
        "\t</entry>\n"
    )


# --- REST API -----------------------------------------------------------------------------


def _local(moment: datetime) -> str:
    return (moment.astimezone(UTC) + SITE_OFFSET).strftime("%Y-%m-%dT%H:%M:%S")


def _gmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def category_json(site: Site, cat: Category, count: int) -> dict[str, Any]:
    parent = site.category(cat.parent) if cat.parent else None
    return {
        "id": cat.id,
        "count": count,
        "description": cat.description,
        "link": site.category_link(cat.slug),
        "name": cat.name,
        "slug": cat.slug,
        "taxonomy": "category",
        "parent": parent.id if parent else 0,
        "meta": [],
        "_links": {
            "self": [{"href": f"{site.url}/wp-json/wp/v2/categories/{cat.id}"}],
            "collection": [{"href": f"{site.url}/wp-json/wp/v2/categories"}],
        },
    }


def post_json(site: Site, post: Post, *, embed: bool) -> dict[str, Any]:
    ids = [c.id for slug in post.categories if (c := site.category(slug))]
    data: dict[str, Any] = {
        "id": post.id,
        "date": _local(post.published),
        "date_gmt": _gmt(post.published),
        "guid": {"rendered": site.guid(post)},
        "modified": _local(post.modified),
        "modified_gmt": _gmt(post.modified),
        "slug": post.slug,
        "status": "publish",
        "type": "post",
        "link": site.link(post),
        "title": {"rendered": texturize(post.title)},
        "content": {"rendered": full_content(site, post), "protected": False},
        "excerpt": {"rendered": f"<p>{excerpt_html(site, post)}</p>\n", "protected": False},
        "author": site.author_id(post.author),
        "featured_media": post.media_id,
        "comment_status": "closed",
        "ping_status": "closed",
        "sticky": False,
        "template": "",
        "format": "standard",
        "meta": {"footnotes": ""},
        "categories": ids,
        "tags": [site.tag_id(tag) for tag in post.tags],
    }
    if embed:
        embedded: dict[str, Any] = {
            "author": [
                {
                    "id": site.author_id(post.author),
                    "name": post.author,
                    "url": "",
                    "description": "",
                    "link": f"{site.url}/author/{site.author_id(post.author)}/",
                    "slug": f"author-{site.author_id(post.author)}",
                }
            ],
            "wp:term": [
                [
                    {
                        "id": c.id,
                        "link": site.category_link(c.slug),
                        "name": c.name,
                        "slug": c.slug,
                        "taxonomy": "category",
                    }
                    for slug in post.categories
                    if (c := site.category(slug))
                ],
                [
                    {
                        "id": site.tag_id(tag),
                        "link": f"{site.url}/tag/{site.tag_slug(tag)}/",
                        "name": html.escape(tag, quote=False),
                        "slug": site.tag_slug(tag),
                        "taxonomy": "post_tag",
                    }
                    for tag in post.tags
                ],
            ],
        }
        if post.image:
            embedded["wp:featuredmedia"] = [
                {
                    "id": post.media_id,
                    "date": _local(post.published),
                    "slug": post.slug + "-image",
                    "type": "attachment",
                    "title": {"rendered": post.slug.replace("-", " ").capitalize()},
                    "caption": {"rendered": f"<p>{post.image.caption}</p>\n"},
                    "alt_text": "",
                    "media_type": "image",
                    "mime_type": "image/jpeg",
                    "media_details": {"width": post.image.width, "height": post.image.height},
                    "source_url": site.image_url(post.image),
                }
            ]
        data["_embedded"] = embedded
    return data


def rest_error(code: str, message: str, status: int, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "data": {"status": status, **extra}}


def rest_index(site: Site) -> dict[str, Any]:
    return {
        "name": SITE_NAME,
        "description": TAGLINE,
        "url": site.url,
        "home": site.url,
        "gmt_offset": "4",
        "timezone_string": "Asia/Baku",
        "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1", "yoast/v1"],
        "authentication": [],
        "routes": {
            "/wp/v2/posts": {"namespace": "wp/v2", "methods": ["GET"]},
            "/wp/v2/categories": {"namespace": "wp/v2", "methods": ["GET"]},
        },
        "site_logo": 0,
        "site_icon": 0,
    }


# --- HTML pages ---------------------------------------------------------------------------

FOOTER = (
    '<footer class="site-footer"><div class="about">We are a unique political and '
    "socio-cultural digest offering exclusive materials, translations from Azerbaijani media, "
    "and reprints of articles from around the world about Azerbaijan.</div>\n"
    '<ul class="links"><li><a href="/privacy-policy/">Privacy Policy</a></li>'
    '<li><a href="/terms-and-conditions/">Terms and Conditions</a></li>'
    '<li><a href="/cookies-policy/">Cookies Policy</a></li></ul>\n'
    "<p>Email: editor@aze.media</p>\n<p>© 2021 Aze.Media – Daily Digest</p></footer>\n"
)


def _menu(site: Site) -> str:
    def entry(cat: Category) -> str:
        children = [c for c in site.categories if c.parent == cat.slug]
        sub = "".join(f"<li>{_cat_anchor(site, c)}</li>" for c in children)
        return (
            f"<li>{_cat_anchor(site, cat)}"
            + (f'<ul class="sub-menu">{sub}</ul>' if sub else "")
            + "</li>"
        )

    top = "".join(
        entry(c) for c in site.categories if c.parent is None and c.slug != "uncategorized"
    )
    return '<nav class="main-menu"><ul><li><a href="/">Home</a></li>' + top + "</ul></nav>\n"


def _cat_anchor(site: Site, cat: Category) -> str:
    return f'<a href="{site.category_link(cat.slug)}">{html.escape(cat.name)}</a>'


def _head(title: str, extra: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en-US">\n<head>\n<meta charset="UTF-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n{extra}"
        '<meta name="generator" content="WordPress 6.8.1" />\n</head>\n'
    )


def article_page(site: Site, post: Post, related: Sequence[Post], recent: Sequence[Post]) -> str:
    link = site.link(post)
    title = texturize(post.title)
    description = html.escape(html.unescape(plain(excerpt_html(site, post))))
    cats = [c for slug in post.categories if (c := site.category(slug))]
    first = cats[0] if cats else None
    og_image = ""
    if post.image:
        og_image = (
            f'<meta property="og:image" content="{html.escape(site.image_url(post.image))}" />\n'
            f'<meta property="og:image:width" content="{post.image.width}" />\n'
            f'<meta property="og:image:height" content="{post.image.height}" />\n'
            '<meta property="og:image:type" content="image/jpeg" />\n'
        )
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": html.unescape(title),
        "datePublished": post.published.astimezone(UTC).isoformat(),
        "dateModified": post.modified.astimezone(UTC).isoformat(),
        "author": {"@type": "Person", "name": post.author},
        "publisher": {"@type": "Organization", "name": SITE_NAME},
        "articleSection": [c.name for c in cats],
        "mainEntityOfPage": link,
    }
    meta = (
        f'<meta name="description" content="{description}" />\n'
        f'<link rel="canonical" href="{link}" />\n'
        '<meta property="og:locale" content="en_US" />\n'
        '<meta property="og:type" content="article" />\n'
        f'<meta property="og:title" content="{title} - {SITE_NAME}" />\n'
        f'<meta property="og:description" content="{description}" />\n'
        f'<meta property="og:url" content="{link}" />\n'
        f'<meta property="og:site_name" content="{SITE_NAME}" />\n'
        f'<meta property="article:published_time" content="{post.published.isoformat()}" />\n'
        f'<meta property="article:modified_time" content="{post.modified.isoformat()}" />\n'
        f'<meta property="article:author" content="{html.escape(post.author)}" />\n'
        f"{og_image}"
        f'<meta name="author" content="{html.escape(post.author)}" />\n'
        '<script type="application/ld+json" class="yoast-schema-graph">'
        f"{json.dumps(ld, ensure_ascii=False)}</script>\n"
    )
    crumbs = f'<a href="{site.url}/">{SITE_NAME}</a> &gt; ' + (
        f"{_cat_anchor(site, first)} &gt; " if first else ""
    )
    featured = ""
    if post.image and not post.caption_first:
        featured = figure(site, post.image) + "\n"
    date = f"{post.published:%B} {post.published.day}, {post.published.year}"
    body = (
        '<body class="post-template-default single single-post">\n'
        '<div class="cookie-notice">By using this site, you agree to the Privacy Policy and '
        "Terms of Use. <button>Accept</button></div>\n"
        f'<header class="site-header"><a class="logo" href="{site.url}/">'
        f'<img src="/wp-content/uploads/2021/04/azemedia-new-logo.png" alt="Azemedia new logo" />'
        f"</a>\n{_menu(site)}</header>\n"
        f'<main id="content"><div class="breadcrumbs">{crumbs}<span>{title}</span></div>\n'
        '<article class="post">\n'
        f'<div class="post-categories">{" ".join(_cat_anchor(site, c) for c in cats)}</div>\n'
        f'<h1 class="entry-title">{title}</h1>\n'
        f'<div class="post-meta">By <a class="author" href="{site.url}/author/'
        f'{site.author_id(post.author)}/">{html.escape(post.author)}</a> Published '
        f'<time datetime="{post.published.isoformat()}">{date}</time> '
        f"{reading_minutes(post)} Min Read</div>\n"
        f"{featured}"
        f'<div class="entry-content">\n{full_content(site, post)}</div>\n'
        f'<div class="author-box">{html.escape(post.author)}</div>\n'
        "</article>\n"
        f'<section class="related"><h2>You Might Also Like</h2>\n{_post_list(site, related)}'
        "</section>\n</main>\n"
        f'<aside class="sidebar"><h2>New articles</h2>\n{_post_list(site, recent)}</aside>\n'
        f"{FOOTER}</body>\n</html>\n"
    )
    return _head(f"{title} - {SITE_NAME}", meta) + body


def _post_list(site: Site, posts: Sequence[Post]) -> str:
    return "".join(
        f'<div class="post-item"><a href="{site.link(p)}">{texturize(p.title)}</a> '
        f"<span>{p.published:%B} {p.published.day}, {p.published.year}</span> "
        f"<span>{reading_minutes(p)} Min Read</span></div>\n"
        for p in posts
    )


def archive_page(site: Site, title: str, posts: Sequence[Post]) -> str:
    """The home page or a category archive: a list of linked headlines."""
    body = (
        f"<body>\n<header>{_menu(site)}</header>\n<main><h1>{title}</h1>\n"
        f"{_post_list(site, posts)}</main>\n{FOOTER}</body>\n</html>\n"
    )
    return _head(f"{title} - {SITE_NAME}", "") + body


def not_found_page(site: Site) -> str:
    return _head(f"Page not found - {SITE_NAME}", "") + (
        f"<body>\n<header>{_menu(site)}</header>\n<main><h1>404</h1><p>Oops! The page you "
        f"were looking for was not found.</p></main>\n{FOOTER}</body>\n</html>\n"
    )
