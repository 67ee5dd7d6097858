"""Pure: time zones typed as readers type them, two daily digests, Instant View links."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from bot import config, preferences, render, schedule, zones
from bot.domain import Article, ChatSettings


@pytest.mark.parametrize(
    ("typed", "zone"),
    [
        ("Berlin", "Europe/Berlin"),
        ("  toronto ", "America/Toronto"),
        ("UTC+4", "Etc/GMT-4"),
        ("utc +4", "Etc/GMT-4"),
        ("GMT-5", "Etc/GMT+5"),
        ("UTC−3", "Etc/GMT+3"),  # a typographic minus
        ("+03:00", "Etc/GMT-3"),
        ("UTC+5:30", "Asia/Kolkata"),
        ("UTC", "UTC"),
        ("UTC+0", "UTC"),
        ("Ташкент", "Asia/Tashkent"),
        ("Bakı", "Asia/Baku"),
        ("BAKU", "Asia/Baku"),
        ("Баку", "Asia/Baku"),
        ("Gəncə", "Asia/Baku"),
        ("İstanbul", "Europe/Istanbul"),
        ("Москва", "Europe/Moscow"),
        ("Санкт-Петербург", "Europe/Moscow"),
        ("new york", "America/New_York"),
        ("Нью-Йорк", "America/New_York"),
        ("Київ", "Europe/Kyiv"),
        ("Kiev", "Europe/Kyiv"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("america/los_angeles", "America/Los_Angeles"),
        ("Daşkənd", "Asia/Tashkent"),
    ],
)
def test_typed_places_and_offsets_resolve(typed: str, zone: str) -> None:
    assert zones.resolve(typed) == zone
    assert zones.is_zone(zone)


@pytest.mark.parametrize("typed", ["Atlantis", "", "   ", "UTC+15", "UTC-13", "UTC+4:10", "x" * 80])
def test_unknown_places_do_not_resolve(typed: str) -> None:
    assert zones.resolve(typed) is None


def test_offset_zones_are_shown_the_way_readers_write_them() -> None:
    assert zones.label("Etc/GMT-4") == "UTC+4"
    assert zones.label("Etc/GMT+5") == "UTC-5"
    assert zones.label("Europe/Berlin") == "Europe/Berlin"
    assert zones.short("America/New_York") == "New York"
    assert zones.short("Etc/GMT-4") == "UTC+4"
    # Offsets keep their meaning: Etc/GMT-4 is four hours ahead of UTC.
    noon = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    assert noon.astimezone(ZoneInfo(zones.resolve("UTC+4") or "")).hour == 16


def test_common_zones_are_real_and_a_typo_gets_suggestions() -> None:
    assert all(zones.is_zone(z) for z in zones.COMMON)
    assert "Berlin" in zones.suggest("Berln")
    assert zones.suggest("Atlantis") == []  # no legacy "Canada/Atlantic" style names


def test_unknown_place_answer_is_polite_with_examples_in_every_language() -> None:
    en = preferences.zone_not_found("Berln", "en")
    assert "“Berln”" in en and "Did you mean: Berlin?" in en and "Berlin, Toronto" in en
    assert preferences.asks_for_zone(en)
    for lang in ("az", "ru"):
        answer = preferences.zone_not_found("Qwertyuiop", lang)
        assert "UTC+4" in answer and preferences.asks_for_zone(answer)
    assert not preferences.asks_for_zone("Settings saved.")
    assert not preferences.asks_for_zone(None)


BERLIN = ZoneInfo("Europe/Berlin")


def _at(day: int, hour: int, minute: int = 0) -> float:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=BERLIN).timestamp()


def test_two_daily_digests_take_turns() -> None:
    twice = ChatSettings(digest_time="08:00", digest_time2="18:00")
    assert schedule.next_digest(twice, _at(10, 9), BERLIN) == _at(10, 18)
    assert schedule.next_digest(twice, _at(10, 18), BERLIN) == _at(11, 8)
    assert schedule.last_digest(twice, _at(10, 17), BERLIN) == _at(10, 8)
    assert schedule.last_digest(twice, _at(10, 7), BERLIN) == _at(9, 18)
    assert schedule.digest_due(twice, _at(10, 9), _at(10, 17, 59), BERLIN) == _at(10, 18)
    assert schedule.digest_due(twice, _at(10, 9), _at(10, 18), BERLIN) is None


def test_a_second_digest_alone_is_no_digest() -> None:
    assert schedule.next_digest(ChatSettings(digest_time2="18:00"), _at(10, 9), BERLIN) is None
    assert schedule.last_digest(ChatSettings(), _at(10, 9), BERLIN) == _at(10, 9)


def test_quiet_hours_at_any_hours() -> None:
    quiet = ChatSettings(quiet_start="01:00", quiet_end="06:00")
    assert schedule.quiet_end(quiet, _at(10, 0, 59), BERLIN) is None
    assert schedule.quiet_end(quiet, _at(10, 1), BERLIN) == _at(10, 6)
    assert schedule.quiet_end(quiet, _at(10, 5, 59), BERLIN) == _at(10, 6)
    assert schedule.quiet_end(quiet, _at(10, 6), BERLIN) is None


ARTICLE = Article(
    key="1",
    url="https://aze.media/story/?a=1&b=2",
    title="Story",
    summary="Summary.",
    published=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC),
    sections=("news",),
)


def test_instant_view_wraps_read_more_and_preview_only_when_configured() -> None:
    plain = render.article_message(
        ARTICLE, ChatSettings(), "en", section_names={}, tz=BERLIN, utm="newsbot"
    )
    assert plain.reply_markup is not None
    assert plain.reply_markup.inline_keyboard[0][0].url.startswith("https://aze.media/story/")
    assert plain.link_preview is not None and plain.link_preview.url == ARTICLE.url

    iv = render.article_message(
        ARTICLE, ChatSettings(), "en", section_names={}, tz=BERLIN, utm="newsbot", iv_rhash="ab12cd"
    )
    assert iv.reply_markup is not None
    button = urlsplit(iv.reply_markup.inline_keyboard[0][0].url or "")
    assert (button.scheme, button.netloc, button.path) == ("https", "t.me", "/iv")
    query = parse_qs(button.query)
    assert query["rhash"] == ["ab12cd"]
    assert query["url"][0].startswith(ARTICLE.url) and "utm_source=newsbot" in query["url"][0]
    assert iv.link_preview is not None and iv.link_preview.url is not None
    assert parse_qs(urlsplit(iv.link_preview.url).query) == {
        "url": [ARTICLE.url],
        "rhash": ["ab12cd"],
    }


def test_iv_rhash_setting_is_off_by_default_and_validated() -> None:
    base = {"TELEGRAM_BOT_TOKEN": "1:x"}
    assert config.load(base).iv_rhash is None
    loaded = config.load({**base, "NEWSBOT_IV_RHASH": " 0A1b2C3d4e5f60 "})
    assert loaded.iv_rhash == "0a1b2c3d4e5f60"
    with pytest.raises(config.ConfigError, match="NEWSBOT_IV_RHASH"):
        config.load({**base, "NEWSBOT_IV_RHASH": "not a hash"})
