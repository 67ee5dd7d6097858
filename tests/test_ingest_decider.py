"""The pure decisions of the ingest stage: what is new, what is backlog, how to back off."""

from __future__ import annotations

from bot.domain import Article
from bot.fetch import FetchResult
from bot.ingest import Decider, Sighting
from storage.articles import Stored
from storage.feeds import FeedState

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
