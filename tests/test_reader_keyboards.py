"""Pure reader logic: keyboards, callback data, section-name matching, settings choices."""

from __future__ import annotations

import pytest

from bot import i18n, keyboards, matching, preferences, sections
from bot.domain import ChatSettings, Section

CATALOGUE = sections.builtin("https://aze.media")


def _texts(markup: object) -> list[list[str]]:
    return [[b.text for b in row] for row in markup.inline_keyboard]  # type: ignore[attr-defined]


def _data(markup: object) -> list[str]:
    return [b.callback_data for row in markup.inline_keyboard for b in row]  # type: ignore[attr-defined]


def test_picker_marks_followed_sections_two_per_row_with_controls() -> None:
    markup = keyboards.picker(CATALOGUE, {"opinion", "economy"}, "en")
    rows = _texts(markup)
    assert rows[0] == ["COP29", "✅ Opinion"]
    assert rows[1] == ["News", "✅ · Economy"]
    assert rows[2] == ["· Energy", "· Climate and Ecology"]
    assert rows[-1] == ["All", "None", "Done"]
    assert all(len(row) <= keyboards.PER_ROW for row in rows[:-1])
    picks = [keyboards.parse_pick(d) for d in _data(markup)[:-3]]
    assert [p[1] for p in picks if p] == [s.slug for s in CATALOGUE]
    # A followed section's button unfollows it, any other follows it.
    assert [p[0] for p in picks if p][:4] == [True, False, True, False]
    assert [keyboards.parse_pick(d) for d in _data(markup)[-3:]] == [None, None, None]


@pytest.mark.parametrize("data", ["s:+:", "s:-:", "s:t:opinion", "s:all", "x", ""])
def test_parse_pick_rejects_other_data(data: str) -> None:
    assert keyboards.parse_pick(data) is None


def test_picker_hides_hidden_sections_and_translates_controls() -> None:
    catalogue = (*CATALOGUE[:2], Section("old", "Old", ("u",), hidden=True))
    markup = keyboards.picker(catalogue, set(), "ru")
    assert _texts(markup) == [["COP29", "Opinion"], ["Все", "Ни одного", "Готово"]]


def test_callback_data_fits_telegram_limit_even_for_longest_slug() -> None:
    longest = Section("a" * 40, "Long", ("u",))
    markups = [
        keyboards.picker((*CATALOGUE, longest), set(), "en"),
        keyboards.settings(ChatSettings(), "en", "America/New_York"),
        keyboards.mysubs("az"),
        keyboards.stop("ru"),
    ]
    for markup in markups:
        assert all(0 < len(d.encode()) <= 64 for d in _data(markup))


def test_settings_keyboard_checks_current_values_and_round_trips() -> None:
    current = ChatSettings(style="headline", link_preview=False, digest_time="18:00")
    markup = keyboards.settings(current, "en", "Asia/Baku")
    rows = _texts(markup)
    assert rows[0] == ["Headline + summary", "✅ Headline only"]
    assert rows[1] == ["Preview on", "✅ Preview off"]
    assert rows[2] == ["✅ English", "Azərbaycanca", "Русский"]
    assert rows[3] == ["Digest: 18:00", "Second digest: off"]
    assert rows[4] == ["Quiet hours: off"]
    # Hold or silent means nothing while quiet hours are off, so it is not offered.
    assert rows[5] == ["Time zone: Asia/Baku"]
    assert rows[6] == ["Done"]
    for data in _data(markup):
        parsed = keyboards.parse_settings(data)
        if data == keyboards.SETTINGS_DONE:
            assert parsed is None
            continue
        assert parsed is not None
        if parsed[0] == "page":
            page = parsed[1]
            assert keyboards.settings_page(page, current, "en", "Asia/Baku") is not None, data
            assert preferences.page_prompt(page, current, "en", "Asia/Baku") is not None, data
        else:
            assert preferences.apply(current, *parsed) is not None, data


def test_hold_or_silent_shows_only_with_quiet_hours_on() -> None:
    current = ChatSettings(quiet_start="01:00", quiet_end="06:00")
    rows = _texts(keyboards.settings(current, "en", "UTC"))
    assert rows[3] == ["Digest: off"]  # no second digest without a first
    assert rows[4] == ["Quiet hours: 01:00–06:00"]
    assert rows[5] == ["Quiet: silent", "✅ Quiet: hold"]


def _pages_reachable(current: ChatSettings, tz: str) -> list[str]:
    """Every data reachable from the settings keyboard through its pages (two levels deep)."""
    seen: list[str] = []
    todo = _data(keyboards.settings(current, "en", tz))
    while todo:
        data = todo.pop()
        if data in seen:
            continue
        seen.append(data)
        parsed = keyboards.parse_settings(data)
        if parsed and parsed[0] == "page":
            page = keyboards.settings_page(parsed[1], current, "en", tz)
            assert page is not None, data
            todo.extend(_data(page))
    return seen


def test_every_page_button_applies_or_opens_a_page() -> None:
    current = ChatSettings(digest_time="08:00", quiet_start="22:00", quiet_end="07:00")
    reachable = _pages_reachable(current, "Europe/Berlin")
    assert "c:dig:13:00" in reachable and "c:dig2:20:00" in reachable
    assert "c:dig2:08:00" not in reachable  # the first digest's hour is not offered again
    assert "c:quiet:01:00-06:00" in reachable and "c:tz:Asia/Tashkent" not in reachable
    assert keyboards.TZ_ASK in reachable and "c:tz:Europe/Berlin" in reachable
    for data in reachable:
        parsed = keyboards.parse_settings(data)
        if data in (keyboards.SETTINGS_DONE, keyboards.SETTINGS_OPEN, keyboards.TZ_ASK):
            continue
        assert parsed is not None, data
        if parsed[0] != "page":
            assert preferences.apply(current, *parsed) is not None, data
        assert len(data.encode()) <= 64


def test_hour_picker_is_24_hours_four_a_row_with_the_chosen_checked() -> None:
    page = keyboards.settings_page("dig", ChatSettings(digest_time="13:00"), "en", "UTC")
    assert page is not None
    rows = _texts(page)
    hours = [text for row in rows[:-1] for text in row]
    assert len(hours) == 24 and all(len(row) == keyboards.HOURS_PER_ROW for row in rows[:-1])
    assert hours[13] == "✅ 13:00" and hours[0] == "00:00"
    assert rows[-1] == ["No digest", "« Back"]
    end = keyboards.settings_page("qend:01", ChatSettings(), "en", "UTC")
    assert end is not None and "01:00" not in [t for row in _texts(end) for t in row]
    assert keyboards.settings_page("qend:24", ChatSettings(), "en", "UTC") is None
    assert keyboards.settings_page("dig2", ChatSettings(), "en", "UTC") is None
    assert keyboards.settings_page("nope", ChatSettings(), "en", "UTC") is None


@pytest.mark.parametrize("data", ["c:", "c:style", "c:style:", "s:all", "c:open", "c:done", ""])
def test_parse_settings_rejects_non_settings(data: str) -> None:
    assert keyboards.parse_settings(data) is None


@pytest.mark.parametrize(
    ("name", "value", "field", "expected"),
    [
        ("style", "headline", "style", "headline"),
        ("prev", "0", "link_preview", False),
        ("lang", "az", "language", "az"),
        ("dig", "08:00", "digest_time", "08:00"),
        ("dig", "03:00", "digest_time", "03:00"),
        ("dig", "off", "digest_time", None),
        ("dig", "off", "digest_time2", None),
        ("dig2", "21:00", "digest_time2", "21:00"),
        ("quiet", "22:00-07:00", "quiet_start", "22:00"),
        ("quiet", "01:00-06:00", "quiet_end", "06:00"),
        ("quiet", "off", "quiet_end", None),
        ("qm", "silent", "quiet_silent", True),
        ("tz", "Europe/Moscow", "timezone", "Europe/Moscow"),
        ("tz", "America/Toronto", "timezone", "America/Toronto"),
        ("tz", "Etc/GMT-4", "timezone", "Etc/GMT-4"),
    ],
)
def test_apply_sets_one_option(name: str, value: str, field: str, expected: object) -> None:
    before = ChatSettings(
        quiet_start="23:00", quiet_end="08:00", digest_time="18:00", digest_time2="07:00"
    )
    after = preferences.apply(before, name, value)
    assert after is not None
    assert getattr(after, field) == expected


def test_a_first_digest_moved_onto_the_second_leaves_one() -> None:
    before = ChatSettings(digest_time="08:00", digest_time2="18:00")
    after = preferences.apply(before, "dig", "18:00")
    assert after is not None and (after.digest_time, after.digest_time2) == ("18:00", None)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("style", "huge"),
        ("lang", "fr"),
        ("dig", "24:00"),
        ("dig", "03:30"),
        ("dig2", "18:00"),  # the first digest's hour
        ("quiet", "1-2"),
        ("quiet", "05:00-05:00"),
        ("quiet", "05:00-25:00"),
        ("tz", "Mars/Base"),
        ("tz", "ask"),
        ("prev", "yes"),
        ("drop", "table"),
    ],
)
def test_apply_rejects_values_not_on_offer(name: str, value: str) -> None:
    assert preferences.apply(ChatSettings(digest_time="18:00"), name, value) is None


def test_no_second_digest_without_a_first() -> None:
    assert preferences.apply(ChatSettings(), "dig2", "09:00") is None


def test_describe_settings_in_each_language() -> None:
    current = ChatSettings(quiet_start="22:00", quiet_end="07:00", quiet_silent=True)
    en = preferences.describe(current, "en", "ru", "Asia/Baku")
    assert en[2] == "Language: Русский (from your Telegram app)"
    assert en[4] == "Quiet hours: 22:00–07:00, sent silently"
    assert en[5] == "Time zone: Asia/Baku"
    twice = ChatSettings(digest_time="18:00", digest_time2="08:00", timezone="Etc/GMT-4")
    ru = preferences.describe(twice, "ru", None, "UTC")
    assert ru[3] == "Дайджест: ежедневно в 08:00 и 18:00"
    assert ru[5] == "Часовой пояс: UTC+4"
    az = preferences.describe(ChatSettings(language="az"), "az", None, "UTC")
    assert az[2] == "Dil: Azərbaycanca" and az[1] == "Keçid önizləməsi: açıq"
    ru = preferences.describe(ChatSettings(style="headline"), "ru", None, "UTC")
    assert ru[0] == "Вид сообщений: только заголовок"


@pytest.mark.parametrize(
    ("text", "slugs"),
    [
        ("karabakh", ["karabakh"]),
        ("KARABAKH", ["karabakh"]),
        ("Climate and Ecology", ["climate-and-ecology"]),
        ("climate-and-ecology", ["climate-and-ecology"]),
        ("climate & ecology", ["climate-and-ecology"]),
        ("opinion, defense", ["opinion", "defense"]),
        ("opinion defense news", ["opinion", "defense", "news"]),
        ("Opinion,Climate and Ecology ,  karabakh", ["opinion", "climate-and-ecology", "karabakh"]),
        ("logistics transport", ["logistics-transport"]),
        ("opinion opinion", ["opinion"]),
    ],
)
def test_resolve_names_and_slugs(text: str, slugs: list[str]) -> None:
    result = matching.resolve(text, CATALOGUE)
    assert [s.slug for s in result.found] == slugs
    assert result.unknown == ()


def test_resolve_is_accent_insensitive() -> None:
    catalogue = (Section("sehir", "Şəhər Həyatı", ("u",)),)
    assert matching.resolve("seher hayati", catalogue).found == ()
    assert [s.slug for s in matching.resolve("SEHER HEYATI", catalogue).found] == ["sehir"]


@pytest.mark.parametrize(
    ("text", "unknown"),
    [
        ("opinion foo bar, defense", ("foo bar",)),
        ("🔥🔥", ("🔥🔥",)),
        ("مرحبا بالعالم", ("مرحبا بالعالم",)),
        ("karabag", ("karabag",)),
    ],
)
def test_resolve_reports_unknown_words(text: str, unknown: tuple[str, ...]) -> None:
    assert matching.resolve(text, CATALOGUE).unknown == unknown


def test_closest_suggests_similar_names() -> None:
    assert [s.slug for s in matching.closest("karabag", CATALOGUE)] == ["karabakh"]
    assert matching.closest("opinon", CATALOGUE)[0].slug == "opinion"
    assert matching.closest("🔥", CATALOGUE) == []


@pytest.mark.parametrize(
    ("payload", "slugs"),
    [
        ("opinion", ["opinion"]),
        ("opinion-defense", ["opinion", "defense"]),
        ("climate-and-ecology-opinion", ["climate-and-ecology", "opinion"]),
        ("OPINION", ["opinion"]),
    ],
)
def test_payload_sections(payload: str, slugs: list[str]) -> None:
    found = matching.from_payload(payload, CATALOGUE)
    assert found is not None and [s.slug for s in found] == slugs


@pytest.mark.parametrize("payload", ["", "opinion-nope", "climate", "search-foo", "-"])
def test_payload_with_unknown_part_is_rejected(payload: str) -> None:
    assert matching.from_payload(payload, CATALOGUE) is None


@pytest.mark.parametrize("text", ["all", " ALL ", "*", "Hamısı", "hamisi", "все", "Всё"])
def test_all_in_every_language(text: str) -> None:
    assert matching.means_all(text)


@pytest.mark.parametrize("text", ["", "al", "all opinion", "allx"])
def test_other_words_do_not_mean_all(text: str) -> None:
    assert not matching.means_all(text)


def test_every_language_labels_every_button() -> None:
    for lang in i18n.LANGUAGES:
        markup = keyboards.settings(ChatSettings(), lang, "UTC")
        assert all(text.strip() for row in _texts(markup) for text in row)


def test_menu_translates_known_commands_and_keeps_others() -> None:
    from telegram import BotCommand

    commands = [BotCommand("start", "Start"), BotCommand("custom", "Something else")]
    assert [(c.command, c.description) for c in keyboards.menu("ru", commands)] == [
        ("start", "Приветствие и выбор разделов"),
        ("custom", "Something else"),
    ]
