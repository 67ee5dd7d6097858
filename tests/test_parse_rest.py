"""WordPress REST posts: how a JSON body is recognised and what odd answers do to it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.discover import Category, family, rest_feed_url
from bot.parse import FeedError, is_json, parse_feed

POST: dict[str, Any] = {
    "id": 118540,
    "link": "https://aze.media/2025/05/20/lachin-airport/",
    "date_gmt": "2025-05-20T08:15:00",
    "title": {"rendered": "La&#231;&#305;n airport &#8220;ready&#8221;"},
    "excerpt": {
        "rendered": "<p>The airport in La&#231;&#305;n received its first flight. [&hellip;]</p>"
    },
    "content": {"rendered": "<p>The airport in Laçın received its first flight.</p>"},
    "_embedded": {
        "author": [{"name": "Aytən Quliyeva"}],
        "wp:featuredmedia": [{"source_url": "https://aze.media/wp-content/uploads/l.jpg"}],
    },
}


def body(*posts: dict[str, Any]) -> bytes:
    return json.dumps(list(posts)).encode()


def test_json_is_recognised_by_content_type_or_first_byte() -> None:
    assert is_json(b"", "application/json; charset=UTF-8")
    assert is_json(b"\xef\xbb\xbf\n [", "text/plain")
    assert not is_json(b'<?xml version="1.0"?><rss/>', "application/rss+xml")
    (article,) = parse_feed(b"\xef\xbb\xbf" + body(POST), "news")
    assert article.key == "wp:118540"
    assert article.title == "Laçın airport “ready”"
    assert article.author == "Aytən Quliyeva"
    assert article.image_url == "https://aze.media/wp-content/uploads/l.jpg"
    assert article.summary.startswith("The airport in Laçın received its first flight.")
    assert "[" not in article.summary and "hellip" not in article.summary


def test_odd_posts_are_skipped_or_degrade_without_failing_the_feed() -> None:
    hidden = {
        **POST,
        "id": 7,
        "date_gmt": "not a date",
        # What WordPress embeds for an author or image the visitor may not see.
        "_embedded": {"author": [{"code": "rest_user_invalid_id"}], "wp:featuredmedia": {}},
    }
    articles = parse_feed(
        body(hidden, {**POST, "id": "x"}, {**POST, "title": {"rendered": " "}}, "junk"), "news"
    )
    (article,) = articles
    assert (article.key, article.author, article.published, article.image_url) == (
        "wp:7",
        "",
        None,
        None,
    )


def test_rest_error_object_is_a_feed_error_with_its_code() -> None:
    error = {"code": "rest_invalid_param", "message": "Invalid parameter(s): categories"}
    with pytest.raises(FeedError, match="rest_invalid_param"):
        parse_feed(json.dumps(error).encode(), "news", content_type="application/json")
    with pytest.raises(FeedError, match="malformed JSON"):
        parse_feed(b"[{", "news")


def test_rest_feed_of_a_parent_names_its_descendants() -> None:
    cats = (
        Category(2, "news", "News"),
        Category(9, "energy", "Energy", parent=2),
        Category(30, "oil", "Oil", parent=9),
        Category(4, "opinion", "Opinion"),
    )
    assert family(cats, cats[0]) == [2, 9, 30]
    assert family(cats, cats[3]) == [4]
    assert rest_feed_url("https://aze.media/", [2, 9]) == (
        "https://aze.media/wp-json/wp/v2/posts?categories=2,9&_embed&per_page=20"
    )
