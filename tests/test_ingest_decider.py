"""The pure decisions of the ingest stage: what is new, what is backlog, how to back off."""

from __future__ import annotations

from dataclasses import replace

from bot.decide import Decider, Sighting
from bot.domain import Article, FeedState, FetchResult, Stored

D = Decider(interval=60.0, summary_min=50)


def art(key: str, section: str, summary: str = "", title: str = "T") -> Article:
    return Article(key, f"https://aze.media/{key}/", title, summary, sections=(section,))


def stored(announced: bool, *sections: str, summary: str = "", title: str = "T") -> Stored:
    return Stored(1, announced, frozenset(sections), title, summary, "https://aze.media/k/", 0)


def test_unseen_article_is_new_only_if_an_initialised_feed_carries_it() -> None:
    plans = D.plan(
        [
            Sighting(art("a", "news"), fresh=False),
            Sighting(art("a", "energy"), fresh=True),
            Sighting(art("b", "history"), fresh=False),
        ],
        {},
    )
    assert [(p.kind, p.article.sections, p.announced, p.hand_over) for p in plans] == [
        ("new", ("news", "energy"), True, True),
        ("backlog", ("history",), False, False),
    ]


def test_stored_article_is_never_new_and_gaining_a_section_hands_over_if_announced() -> None:
    sighting = [Sighting(art("k", "economy"), fresh=True)]
    (announced,) = D.plan(sighting, {"k": stored(True, "energy")})
    assert (announced.kind, announced.hand_over) == ("gained", True)
    (backlog,) = D.plan(sighting, {"k": stored(False, "energy")})
    assert (backlog.kind, backlog.hand_over, backlog.announced) == ("gained", False, False)
    (first_poll,) = D.plan(
        [Sighting(art("k", "economy"), fresh=False)], {"k": stored(True, "energy")}
    )
    assert first_poll.hand_over is False  # a section's first poll never pushes


def test_edit_updates_but_a_thin_feed_summary_does_not_replace_the_page_lead() -> None:
    page_lead = "A long lead taken from the article page, well beyond fifty characters."
    (same,) = D.plan(
        [Sighting(art("k", "news", "Short."), True)], {"k": stored(True, "news", summary=page_lead)}
    )
    assert same.kind == "same" and same.article.summary == page_lead
    (edited,) = D.plan(
        [Sighting(art("k", "news", page_lead, title="New title"), True)],
        {"k": stored(True, "news", summary=page_lead)},
    )
    assert (edited.kind, edited.hand_over) == ("edited", False)


def test_a_new_text_or_new_tags_are_an_edit_and_a_sighting_without_them_is_not() -> None:
    before = replace(stored(True, "news"), body="Old text.", tags=("Şuşa",))
    sighted = art("k", "news")

    def kind(article: Article) -> str:
        (plan,) = D.plan([Sighting(article, True)], {"k": before})
        assert plan.hand_over is False  # an edit is stored for search, never pushed again
        return plan.kind

    assert kind(replace(sighted, body="Old text.", tags=("Şuşa",))) == "same"
    assert kind(sighted) == "same"  # an Atom feed without content or tags keeps what we have
    assert kind(replace(sighted, body="New text, with Pelosi.")) == "edited"
    assert kind(replace(sighted, tags=("Şuşa", "Shahdag"))) == "edited"
    # Stored before texts were kept (migration 0003): a sighting with text fills it in.
    before = replace(before, body=None)
    assert kind(replace(sighted, body="Text.", tags=("Şuşa",))) == "edited"


def test_backoff_doubles_is_capped_and_respects_retry_after() -> None:
    state = FeedState("u", "news")
    waits = []
    for _ in range(8):
        state = D.failed(state, "HTTP 500", 0.0)
        waits.append(state.next_fetch_at)
    assert waits[:3] == [120, 240, 480] and max(waits) == 3600
    assert D.failed(FeedState("u", "news"), "HTTP 503", 0.0, retry_after=900).next_fetch_at == 900
    healed = D.fetched(state, FetchResult("u", 200, etag='"x"'), 10.0)
    assert (healed.failures, healed.last_error, healed.etag, healed.initialized) == (
        0,
        None,
        '"x"',
        True,
    )


def test_long_cache_lifetime_delays_the_next_fetch_short_one_does_not() -> None:
    state = FeedState("u", "news", initialized=True)
    assert D.not_modified(state, FetchResult("u", 304, max_age=600), 0.0).next_fetch_at == 600
    assert D.not_modified(state, FetchResult("u", 304, max_age=30), 0.0).next_fetch_at == 0
    html = FetchResult("u", 200, b"<html>", content_type="text/html; charset=UTF-8")
    assert D.problem(html) and "text/html" in (D.problem(html) or "")


HTTP_NOON = "Mon, 19 May 2025 12:00:00 GMT"
NOON = 1747656000.0


def answer(status: int = 200, *, date: float | None = NOON) -> FetchResult:
    return FetchResult(
        "https://aze.media/feed/",
        status,
        content_type="application/rss+xml",
        last_modified=HTTP_NOON,
        etag='"e"',
        date=date,
    )


def test_validators_from_the_second_of_the_answer_are_not_kept_until_they_settle() -> None:
    state = FeedState("https://aze.media/feed/", "")
    fresh = D.fetched(state, answer(date=NOON + 3), NOON + 3)
    assert (fresh.etag, fresh.last_modified) == (None, None)  # the next ask is unconditional
    settled = D.fetched(state, answer(date=NOON + D.settle), NOON + 99)
    assert (settled.etag, settled.last_modified) == ('"e"', HTTP_NOON)
    # The site's own clock decides, not ours: a bot clock far ahead proves nothing.
    assert D.fetched(state, answer(date=NOON + 1), NOON + 3600).etag is None
    # An ETag alone (a content hash) has no one-second resolution to distrust.
    assert D.settled(replace(answer(), last_modified=None), NOON)


def test_validators_are_left_off_once_per_refresh_window() -> None:
    d = Decider(interval=10.0)
    assert d.refresh_period == 20.0
    state = FeedState("u", "", etag='"e"', last_modified=HTTP_NOON, last_fetch_at=1000)
    assert d.validators(state, 1010, d.refresh_period) == ('"e"', HTTP_NOON)
    assert d.validators(state, 1020, d.refresh_period) == (None, None)
    assert d.validators(replace(state, last_fetch_at=None), 1001, 20.0) == (None, None)
    # Over many passes, every other ask goes unconditional: backdated posts show within 2.
    asks = [
        d.validators(replace(state, last_fetch_at=t - 10), t, 20.0) for t in range(1010, 1210, 10)
    ]
    assert sum(a == (None, None) for a in asks) == len(asks) // 2


def test_site_answers_are_classified_and_the_site_backs_off_as_one_capped() -> None:
    assert D.answer(answer(304)) == "unchanged"
    assert D.answer(answer(200)) == "changed"
    assert D.answer(FetchResult("u", 0, error="timeout (ReadTimeout)")) == "down"
    assert D.answer(FetchResult("u", 503, error="HTTP 503")) == "down"
    assert D.answer(FetchResult("u", 404, error="HTTP 404")) == "absent"
    assert D.answer(replace(answer(200), content_type="text/html")) == "absent"
    d = Decider(interval=10.0)
    site = FeedState("u", "")
    waits = []
    for _ in range(6):
        site = d.site_down(site, "HTTP 500", 0.0)
        waits.append(site.next_fetch_at)
    assert waits == [10, 20, 20, 20, 20, 20]
    assert d.site_down(site, "HTTP 503", 0.0, retry_after=120).next_fetch_at == 120
    assert d.site_blocked(site, 5.0, woken=False) and not d.site_blocked(site, 5.0, woken=True)
    assert not d.site_blocked(site, 20.0, woken=False)


def test_site_feed_entries_are_placed_by_category_name_with_their_parents() -> None:
    from bot import sections
    from bot.decide import Placement, slugify

    placement = Placement.of(sections.builtin("https://aze.media"), "https://aze.media")
    assert placement.sections(["Energy"]) == ("energy", "news")
    assert placement.sections(["Climate and Ecology", "Karabakh"]) == (
        "climate-and-ecology",
        "news",
        "karabakh",
    )
    assert placement.sections(["Uncategorized", "a tag"]) == ()
    assert slugify("Mədəniyyət & İncəsənət") == "medeniyyet-incesenet"
    assert len(placement.site_feeds) == 15
