"""Feed parsing: RSS 2.0, RSS 1.0, Atom and REST posts to frozen Articles with stable keys."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot import parse

RSS2 = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
 xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>Energy Archives - Aze.Media</title><link>https://aze.media/category/news/energy/</link>
<description>Daily Digest</description>
<item>
 <title>Azərbaycan &amp;#8220;Yaşıl enerji&#8221; dəhlizi:   Xəzərdən   Avropaya</title>
 <link>https://aze.media/2025/05/19/green-corridor/?utm_source=rss&amp;utm_medium=rss</link>
 <dc:creator><![CDATA[Ayşən Qasımova]]></dc:creator>
 <pubDate>Mon, 19 May 2025 14:02:00 +0400</pubDate>
 <category><![CDATA[Energy]]></category>
 <guid isPermaLink="false">https://aze.media/?p=118530</guid>
 <description><![CDATA[The Caspian–Black Sea–Europe green energy corridor moved a step closer
 on Monday, when
 ministers from Azerbaijan, Georgia, Romania and Hungary signed the feasibility study in Bakı.
 The cable would carry four gigawatts of wind power from the Caspian to the European grid, the
 ministry said. Construction [&#8230;]<p>The post <a href="https://aze.media/x/">Green corridor</a>
 appeared first on <a href="https://aze.media">Aze.Media</a>.</p>]]></description>
 <content:encoded><![CDATA[<figure class="wp-block-image">
<img src="https://aze.media/wp-content/uploads/2025/05/cable.jpg" alt="" />
<figcaption>Photo: Trend</figcaption></figure>
<p>The Caspian–Black Sea–Europe green energy corridor moved a step closer on Monday.</p>
<p>Şuşa, Ağdam və Füzuli: üç şəhər, bir çağırış.</p>]]></content:encoded>
</item>
<item>
 <title></title>
 <link>https://aze.media/no-title/</link>
 <guid isPermaLink="false">https://aze.media/?p=1</guid>
</item>
<item>
 <title>No link at all</title>
 <guid isPermaLink="false">https://aze.media/?p=2</guid>
</item>
<item>
 <title>Media image only</title>
 <link>https://aze.media/media-only/?fbclid=abc&amp;id=7#comments</link>
 <media:content url="https://aze.media/m.jpg" medium="image" />
 <description>Short.</description>
</item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
 <title>Culture</title><id>tag:aze.media,2025:culture</id><updated>2025-05-16T08:30:00Z</updated>
 <entry>
  <title type="html">A carpet weaver from Qarabağ: &#8216;Every knot is memory&#8217;</title>
  <link rel="alternate" href="https://aze.media/2025/05/16/carpet/"/>
  <link rel="enclosure" type="image/jpeg" href="https://aze.media/carpet.jpg"/>
  <id>https://aze.media/?p=118429</id>
  <author><name>Gülnar Həsənova</name></author>
  <published>2025-05-16T12:30:00+04:00</published>
  <updated>2025-05-16T12:30:00+04:00</updated>
  <summary type="html">Gülnar learnt to weave in Şuşa as a girl.</summary>
 </entry>
</feed>"""

RSS1 = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
 xmlns:dc="http://purl.org/dc/elements/1.1/">
 <channel rdf:about="https://aze.media/"><title>Aze.Media</title><link>https://aze.media/</link>
  <description>Daily Digest</description></channel>
 <item rdf:about="https://aze.media/2025/05/18/rail/">
  <title>Azerbaijan Railways launches a new digital feature</title>
  <link>https://aze.media/2025/05/18/rail/?utm_campaign=x</link>
  <description>Passengers can now buy tickets with a QR code.</description>
  <dc:creator>Trend</dc:creator>
  <dc:date>2025-05-18T09:00:00Z</dc:date>
 </item>
</rdf:RDF>"""


def test_rss2_wordpress_item() -> None:
    articles = parse.parse_feed(RSS2.encode(), "energy")
    assert [a.title for a in articles] == [
        "Azərbaycan “Yaşıl enerji” dəhlizi: Xəzərdən Avropaya",
        "Media image only",
    ]
    a = articles[0]
    assert a.key == "wp:118530"
    assert a.sections == ("energy",)
    assert a.author == "Ayşən Qasımova"
    assert a.published == datetime(2025, 5, 19, 10, 2, tzinfo=UTC)
    assert a.image_url == "https://aze.media/wp-content/uploads/2025/05/cable.jpg"
    assert a.word_count == 20
    assert a.summary.startswith("The Caspian–Black Sea–Europe green energy corridor")
    assert a.summary.endswith("the ministry said.")
    assert "appeared first" not in a.summary and "Construction" not in a.summary


def test_entries_without_guid_get_a_clean_link_key_and_media_image() -> None:
    media = parse.parse_feed(RSS2.encode(), "energy")[1]
    assert media.key == "https://aze.media/media-only/?id=7"
    assert media.image_url == "https://aze.media/m.jpg"


def test_atom_entry() -> None:
    (a,) = parse.parse_feed(ATOM.encode(), "culture")
    assert a.key == "wp:118429"
    assert a.title == "A carpet weaver from Qarabağ: ‘Every knot is memory’"
    assert a.author == "Gülnar Həsənova"
    assert a.published == datetime(2025, 5, 16, 8, 30, tzinfo=UTC)
    assert a.image_url == "https://aze.media/carpet.jpg"
    assert a.url == "https://aze.media/2025/05/16/carpet/"


def test_rss1_item() -> None:
    (a,) = parse.parse_feed(RSS1.encode(), "logistics-transport")
    assert a.key == "https://aze.media/2025/05/18/rail/"
    assert a.author == "Trend"
    assert a.published == datetime(2025, 5, 18, 9, 0, tzinfo=UTC)
    assert a.summary == "Passengers can now buy tickets with a QR code."


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body><h1>Just a moment...</h1></body></html>",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title><item><title>Unter',
        b"\x00\xff\xfe garbage",
    ],
)
def test_not_a_feed_raises_feed_error(body: bytes) -> None:
    with pytest.raises(parse.FeedError):
        parse.parse_feed(body, "news")


def test_empty_but_valid_feed_is_no_error() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
    assert parse.parse_feed(body, "news") == ()


def test_rest_posts_share_the_wordpress_key() -> None:
    posts = [
        {
            "id": 118530,
            "link": "https://aze.media/2025/05/19/green-corridor/",
            "date_gmt": "2025-05-19T10:02:00",
            "title": {"rendered": "Green &#8220;corridor&#8221;"},
            "excerpt": {"rendered": "<p>Ministers signed the study in Bakı.</p>"},
            "content": {"rendered": '<p>Full text.</p><img src="https://aze.media/i.jpg">'},
            "_embedded": {"author": [{"name": "Trend"}]},
        },
        {"id": 3, "link": "", "title": {"rendered": "no link"}},
    ]
    (a,) = parse.parse_feed(json.dumps(posts).encode(), "energy")
    assert a.key == parse.stable_key("https://aze.media/?p=118530", "") == "wp:118530"
    assert a.title == "Green “corridor”"
    assert a.author == "Trend"
    assert a.image_url == "https://aze.media/i.jpg"
    assert a.published == datetime(2025, 5, 19, 10, 2, tzinfo=UTC)


def test_canonical_link_drops_tracking_only() -> None:
    assert (
        parse.canonical_link("HTTPS://Aze.Media/a/?utm_source=x&page=2&fbclid=y&gclid=z#top")
        == "https://aze.media/a/?page=2"
    )


def test_title_cleaning() -> None:
    assert parse.clean_title("  Bakı &amp;amp; <b>Şuşa</b>\n  today ") == "Bakı & Şuşa today"


def test_site_feed_entries_carry_their_category_names_and_no_section() -> None:
    from bot.parse import FeedError, label_key, parse_site_feed

    body = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>S</title>
<item><title>Gas exports grow</title><link>https://aze.media/gas/</link>
<guid isPermaLink="false">https://aze.media/?p=7</guid>
<category><![CDATA[Energy]]></category><category><![CDATA[Climate &amp; Ecology]]></category>
<category><![CDATA[Şuşa]]></category><description>Gas.</description></item>
</channel></rss>""".encode()
    ((article, names),) = parse_site_feed(body)
    assert article.key == "wp:7" and article.sections == ()
    assert names == ("Energy", "Climate & Ecology", "Şuşa")
    assert article.tags == ("Energy", "Climate & Ecology", "Şuşa")  # no catalogue given
    # With the catalogue's category keys, the names that are sections are not tags.
    keys = {label_key("Energy"), label_key("Climate & Ecology")}
    ((tagged, _),) = parse_site_feed(body, categories=keys)
    assert tagged.tags == ("Şuşa",)
    with pytest.raises(FeedError):
        parse_site_feed(b"[]", content_type="application/json")
    with pytest.raises(FeedError):
        parse_site_feed(b"<html><body>Not found</body></html>")
