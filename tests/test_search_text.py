"""Article text and tags as parsing keeps them, section names as search reads them, folding."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import search, summary
from bot.config import ConfigError
from bot.domain import fold
from bot.parse import label_key, parse_feed
from bot.sections import builtin, from_toml

CATALOGUE = builtin("https://aze.media")
CATEGORIES = frozenset(label_key(t) for s in CATALOGUE for t in (s.name, s.slug))

CONTENT = (
    '<figure class="wp-block-image"><img src="https://aze.media/a.jpg" alt="">'
    "<figcaption>Photo: AZERTAC</figcaption></figure>"
    "<p>Pelosi&#8217;s visit to Yerevan in 2022 changed the debate.</p>"
    "<script>track('x')</script>"
    '<div class="sharedaddy"><p>Share this: Facebook</p></div>'
    "<p>The CSTO   did not answer.</p>"
    '<p>The post <a href="https://aze.media/x/">X</a> appeared first on '
    '<a href="https://aze.media">Aze.Media</a>.</p>'
)

RSS = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Opinion Archives - Aze.Media</title><link>https://aze.media</link>
<item>
  <title>Yerevan weighs its alliances</title>
  <link>https://aze.media/2025/05/20/yerevan/</link>
  <guid isPermaLink="false">https://aze.media/?p=118600</guid>
  <category><![CDATA[Opinion]]></category>
  <category><![CDATA[Logistics-Transport]]></category>
  <category><![CDATA[Shahdag]]></category>
  <category><![CDATA[Q&amp;A]]></category>
  <category><![CDATA[shahdag]]></category>
  <description><![CDATA[A short excerpt.]]></description>
  <content:encoded><![CDATA[{CONTENT}]]></content:encoded>
</item></channel></rss>""".encode()

ATOM = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Aze.Media</title>
<entry><title type="html">Winter in the mountains</title>
<link rel="alternate" href="https://aze.media/2025/01/02/winter/"/>
<id>https://aze.media/?p=118601</id>
<category scheme="https://aze.media" term="Economy" />
<category scheme="https://aze.media" term="Gabala" />
<summary type="html">Snow.</summary>
</entry></feed>"""


def rest_post(**extra: Any) -> dict[str, Any]:
    return {
        "id": 118602,
        "link": "https://aze.media/2025/05/21/tags/",
        "date_gmt": "2025-05-21T08:15:00",
        "title": {"rendered": "Tagged"},
        "excerpt": {"rendered": "<p>Excerpt.</p>"},
        "content": {"rendered": CONTENT},
        **extra,
    }


def test_rss_keeps_the_cleaned_text_and_the_tags_that_are_not_sections() -> None:
    (article,) = parse_feed(RSS, "opinion", categories=CATEGORIES)
    assert article.body == (
        "Pelosi’s visit to Yerevan in 2022 changed the debate.\nThe CSTO did not answer."
    )
    assert article.tags == ("Shahdag", "Q&A")  # categories dropped, duplicates once


def test_without_the_catalogue_every_category_element_is_a_tag() -> None:
    (article,) = parse_feed(RSS, "opinion")
    assert article.tags == ("Opinion", "Logistics-Transport", "Shahdag", "Q&A")


def test_atom_categories_and_no_content() -> None:
    (article,) = parse_feed(ATOM, "economy", categories=CATEGORIES)
    assert article.tags == ("Gabala",)
    assert article.body == ""


def test_rest_tags_come_from_the_embedded_post_tag_terms() -> None:
    terms = [
        [{"id": 3, "name": "Opinion", "taxonomy": "category"}],
        [
            {"id": 5001, "name": "Shahdag", "taxonomy": "post_tag"},
            {"id": 5002, "name": "Q&amp;A", "taxonomy": "post_tag"},
        ],
    ]
    posts = [
        rest_post(_embedded={"wp:term": terms}),
        rest_post(id=118603, _embedded={"wp:term": {"code": "rest_forbidden"}}),
        rest_post(id=118604, tags=[5001]),  # without _embed: ids only, no names
    ]
    tagged, odd, plain = parse_feed(json.dumps(posts).encode(), "opinion")
    assert tagged.tags == ("Shahdag", "Q&A")
    assert tagged.body.startswith("Pelosi’s visit") and "Share this" not in tagged.body
    assert odd.tags == () and plain.tags == ()


def test_body_is_every_paragraph_one_a_line() -> None:
    html = "<p>One.</p><ul><li>Two</li></ul><blockquote>Three &amp; four</blockquote>"
    assert summary.body(html) == "One.\nTwo\nThree & four"
    assert summary.body("Plain text.\n\nSecond paragraph.") == "Plain text.\nSecond paragraph."
    assert summary.body("") == ""


def test_sections_file_aliases() -> None:
    data = {"section": [{"slug": "karabakh", "aliases": ["Карабах", " Qarabağ ", ""]}]}
    (section,) = from_toml(data, "https://aze.media")
    assert section.aliases == ("Карабах", "Qarabağ")
    with pytest.raises(ConfigError, match="aliases"):
        from_toml({"section": [{"slug": "x", "aliases": [1]}]}, "https://aze.media")


def test_section_names_match_in_every_language_and_by_prefix_while_typing() -> None:
    named = search.parse("karab", CATALOGUE).named
    assert named == (("karabakh",),)
    assert search.parse("Qarabağ", CATALOGUE).named == (("karabakh",),)
    assert search.parse("карабах", CATALOGUE).named == (("karabakh",),)
    assert search.parse("müdafiə", CATALOGUE).named == (("defense",),)
    assert search.parse("ecology", CATALOGUE).named == (("climateandecology",),)
    # A finished word names a section only whole; a word of two letters never by prefix.
    assert search.parse("karab ", CATALOGUE).named == ((),)
    assert search.parse("ka", CATALOGUE).named == ((),)
    # "and"/"və"/"и" are in names but name nothing alone.
    assert search.parse("and və и ", CATALOGUE).named == ((), (), ())


def test_aliases_from_the_sections_file_name_the_section() -> None:
    catalogue = from_toml(
        {"section": [{"slug": "arts", "name": "Arts", "aliases": ["Incəsənət"]}]}, "https://x"
    )
    query = search.parse("incesen", catalogue)
    assert query.named == (("arts",),)
    assert search.match_expression(query) == ('("incesen"* OR sections : ("arts"))')


def test_tiers_put_headline_tags_and_summary_before_the_text() -> None:
    assert search.match_tiers(search.parse("gas pipe", CATALOGUE)) == (
        '{title tags summary} : "gas" AND {title tags summary} : "pipe"*',
        '"gas" AND "pipe"*',
    )
    assert search.match_tiers(search.parse("by:mikovic", CATALOGUE)) == ('author : ("mikovic"*)',)
    assert search.match_tiers(search.parse("", CATALOGUE)) is None


def test_found_in_tells_whether_headline_and_summary_explain_a_match() -> None:
    query = search.parse("susa fest", CATALOGUE)
    assert search.found_in(query, "Şuşa festival opens", "")
    assert not search.found_in(query, "Şuşa opens", "Music")
    assert not search.found_in(search.parse("fest ", CATALOGUE), "Festival", "")
    assert search.found_in(search.parse("karab", CATALOGUE), "Roads", "")  # names a section


def _reference_fold(text: str) -> str:
    table = str.maketrans({"ı": "i", "İ": "i", "ə": "e", "Ə": "e", "ß": "ss", "ø": "o", "Ø": "o"})
    decomposed = unicodedata.normalize("NFKD", text.translate(table))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("aZəƏıİşŞçğöüßøÅñЙй½ﬁ \u0301\u0307-.,7"), max_size=60))
def test_fold_fast_paths_give_the_same_text(text: str) -> None:
    # The index was filled with fold(); its 'delete' command must see exactly the same tokens.
    assert fold(text) == _reference_fold(text)
    assert fold(text.encode("ascii", "ignore").decode()) == _reference_fold(
        text.encode("ascii", "ignore").decode()
    )
