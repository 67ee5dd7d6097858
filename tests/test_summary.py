"""Summaries: the lead as clean plain text, cut where a reader would stop."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot import extract, summary

SEED = Path("/work/shared/seed/aze-media-article-page.txt")

LONG_AZ = (
    "<p>Bakı&#8217;da “Qarabağ” festivalı başladı və şəhərin mərkəzində minlərlə insan toplaşdı. "
    "Prezident İlham Əliyev açılış mərasimində çıxış edərək Şuşanın mədəni irsinə diqqət çəkdi. "
    "Festival üç gün davam edəcək, proqramda muğam, aşıq sənəti və xalça sərgisi var. "
    "Təşkilatçılar ölkənin bütün bölgələrindən gələn qonaqları gözləyir, bilet satışı isə "
    "artıq başa çatıb.</p>"
)


def test_entities_curly_quotes_and_azerbaijani_letters_survive() -> None:
    text = summary.lead([LONG_AZ])
    assert text.startswith("Bakı’da “Qarabağ” festivalı başladı")
    assert "İlham Əliyev" in text and "Şuşanın" in text and "ölkənin bütün bölgələrindən" in text
    assert "<" not in text and "&#" not in text


def test_cut_at_sentence_boundary_between_min_and_max() -> None:
    text = summary.lead([LONG_AZ], 120, 250)
    assert 120 <= len(text) <= 250
    assert text.endswith("çəkdi.")


def test_never_mid_word_and_ellipsis_when_no_sentence_end_fits() -> None:
    words = "Azərbaycan " * 60  # no sentence end at all
    text = summary.cut(words.strip(), 200, 400)
    assert text.endswith("Azərbaycan…")
    assert len(text) <= 400


def test_short_text_is_kept_whole() -> None:
    assert summary.lead(["<p>Şuşa hosts a festival.</p>"]) == "Şuşa hosts a festival."


def test_abbreviations_are_not_sentence_ends() -> None:
    text = "Dr. Smith met U.S. envoys in Bakı on Monday. " * 6
    cut = summary.cut(text.strip(), 40, 100)
    assert cut.endswith("Monday.")
    assert not cut.endswith("Dr.")


def test_wordpress_excerpt_footer_and_more_marker_removed() -> None:
    description = (
        "Azerbaijan and Iran launched joint exercises on the liberated territories on Monday. "
        "The drills involve engineering units and will last three days, the ministry said. "
        "Officials described the exercises as a step toward border security and [&#8230;]"
        '<p>The post <a href="https://aze.media/x/">Azerbaijan and Iran launch joint exercises</a>'
        ' appeared first on <a href="https://aze.media">Aze.Media</a>.</p>'
    )
    text = summary.lead([description])
    assert "appeared first" not in text and "[" not in text and "…]" not in text
    # The excerpt was cut mid-sentence by WordPress; the lead ends at a real sentence end.
    assert text.endswith("the ministry said.")


def test_continue_reading_removed() -> None:
    text = summary.lead(
        [
            "<p>Short lead about the Caspian.</p>"
            '<p><a class="more-link" href="/x/">Continue reading <span>Caspian</span></a></p>'
        ]
    )
    assert text == "Short lead about the Caspian."


def test_leading_caption_glued_by_auto_excerpt_is_dropped() -> None:
    description = (
        "Photo: AZERTAC Şuşa hosts the Xarıbülbül festival again. Officials in Bakı said the "
        "event would gather musicians from twelve countries. The programme includes mugham, "
        "ashug music and a carpet exhibition in the old town, organisers said. It runs [&#8230;]"
    )
    content = (
        '<figure class="wp-block-image"><img src="https://aze.media/a.jpg" alt="">'
        "<figcaption>Photo: AZERTAC</figcaption></figure>"
        "<p>Şuşa hosts the Xarıbülbül festival again.</p>"
    )
    text = summary.lead([description, content])
    assert text.startswith("Şuşa hosts the Xarıbülbül festival again.")


def test_leading_caption_paragraph_and_figure_are_skipped() -> None:
    content = (
        '<div class="wp-caption"><img src="x.jpg"><p class="wp-caption-text">Ilham Aliyev in '
        "Shusha. Photo: president.az</p></div>"
        "<p>US House Speaker Nancy Pelosi visits Yerevan. Photo: Nancy Pelosi / Twitter</p>"
        "<p>In order to protect its own territorial integrity, Yerevan aims to develop close ties "
        "with the United States.</p>"
    )
    assert summary.lead([content]).startswith("In order to protect")


def test_falls_back_to_content_when_excerpt_empty_or_short() -> None:
    assert summary.lead(["", LONG_AZ]).startswith("Bakı’da")
    assert summary.lead(["Too short.", LONG_AZ]).startswith("Bakı’da")
    # Nothing long enough anywhere: the longest is used.
    assert summary.lead(["Short.", "<p>A little longer lead.</p>"]) == "A little longer lead."


def test_word_count_ignores_markup() -> None:
    html = "<p>Bir iki <b>üç</b></p><figure><figcaption>x y</figcaption></figure>"
    assert summary.word_count(html) == 3


@pytest.mark.skipif(not SEED.exists(), reason="seed page not available")
def test_real_aze_media_article_text_gives_clean_lead() -> None:
    # The seed is the text rendering of a real article page; its paragraphs are blank-line
    # separated, with the photo caption right before the first paragraph.
    text = SEED.read_text(encoding="utf-8")
    body = text[text.index("Pelosi armenia 1308x873") : text.index("Nikola Mikovic\nByline")]
    lead = summary.lead([body])
    assert lead.startswith("In order to protect its own territorial integrity")
    assert lead.endswith("three million people.")
    assert 200 <= len(lead) <= 400


PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Armenia is turning its back on Russia - Aze.Media</title>
<meta property="og:description"
 content="In order to protect its own territorial integrity, Yerevan aims&#8230;">
<meta property="og:image" content="https://aze.media/wp-content/uploads/2022/09/Pelosi-armenia.jpg">
<meta name="author" content="Nikola Mikovic">
</head><body><nav><ul><li>Home</li><li>COP29</li><li>Opinion</li></ul></nav>
<main><article><h1>Armenia is turning its back on Russia</h1>
<figure class="wp-caption"><img src="p.jpg" alt="Pelosi armenia 1308x873">
<figcaption>US House Speaker Nancy Pelosi visits Yerevan. Photo: Nancy Pelosi / Twitter</figcaption>
</figure><div class="entry-content">
<p>In order to protect its own territorial integrity, Yerevan aims to develop close ties with the
United States, given that it has become quite obvious that Moscow cannot – or does not want to –
act as a security provider to the small landlocked country of around three million people.</p>
<p>Although the South Caucus is still seen as a Russian zone of influence, Moscow’s debacle in
Ukraine has forced both Azerbaijan and Armenia to start distancing themselves from the Kremlin.</p>
</div></article></main><footer>© 2021 Aze.Media – Daily Digest</footer></body></html>"""


def test_page_meta_gives_description_image_and_author() -> None:
    page = extract.from_page(PAGE)
    assert page.text == ""  # the body is never scraped: the REST post carries the content
    assert page.description.endswith("Yerevan aims…")
    assert page.image_url == "https://aze.media/wp-content/uploads/2022/09/Pelosi-armenia.jpg"
    assert page.author == "Nikola Mikovic"


def test_page_without_meta_is_empty_not_an_error() -> None:
    page = extract.from_page("<html><head></head><body><p>Text</p></body></html>")
    assert page == extract.PageInfo()


def test_profile_url_as_article_author_falls_back_to_the_author_name() -> None:
    page = extract.from_page(
        '<html><head><meta property="article:author" content="https://fb.com/x">'
        '<meta name="author" content="Ayşən Qasımova"></head></html>'
    )
    assert page.author == "Ayşən Qasımova"


def test_rest_post_gives_content_featured_image_and_author() -> None:
    post = {
        "id": 118533,
        "content": {"rendered": PAGE[PAGE.index("<figure") : PAGE.index("</div>")]},
        "excerpt": {"rendered": "<p>In order to protect [&hellip;]</p>"},
        "_embedded": {
            "author": [{"name": "Nikola Mikovi&#263;"}],
            "wp:featuredmedia": [{"source_url": "https://aze.media/wp-content/uploads/p.jpg"}],
        },
    }
    info = extract.from_rest(json.dumps(post).encode())
    assert info is not None
    assert info.image_url == "https://aze.media/wp-content/uploads/p.jpg"
    assert info.author == "Nikola Miković"
    lead = summary.lead(["Too thin.", info.text, info.description])
    # The caption above the first paragraph is not part of the lead.
    assert lead.startswith("In order to protect") and lead.endswith("three million people.")


def test_rest_post_without_featured_image_uses_the_first_picture_of_its_content() -> None:
    post = {"id": 1, "content": {"rendered": '<p>x</p><img src="/a.jpg?w=1&amp;h=2">'}}
    info = extract.from_rest(json.dumps(post).encode())
    assert info is not None and info.image_url == "/a.jpg?w=1&h=2" and info.author == ""


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"code": "rest_post_invalid_id", "message": "Invalid post ID.", "data": {}}',
    ],
)
def test_rest_answers_that_are_not_a_post(body: bytes) -> None:
    assert extract.from_rest(body) is None


def test_rest_post_whose_embeds_are_errors_yields_what_it_has() -> None:
    body = b'{"id": 5, "_embedded": {"author": {"code": "rest_user_cannot_view"}}}'
    assert extract.from_rest(body) == extract.PageInfo()


def test_rest_post_url_only_for_wp_keys_on_the_configured_site() -> None:
    site = "https://aze.media"
    assert (
        extract.rest_post_url(site, "wp:42", "https://aze.media/2025/05/19/x/")
        == "https://aze.media/wp-json/wp/v2/posts/42?_embed"
    )
    assert extract.rest_post_url(site, "wp:42", "https://other.example/x/") is None
    assert extract.rest_post_url(site, "https://aze.media/x/", "https://aze.media/x/") is None
    assert extract.rest_post_url("", "wp:42", "https://aze.media/x/") is None
