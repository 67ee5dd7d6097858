"""Pure delivery decisions: Telegram errors, sliding-window limits, quiet hours and digests."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import outcome, schedule
from bot.domain import ChatSettings
from bot.throttle import Throttle, Window

BAKU = ZoneInfo("Asia/Baku")  # UTC+4, no DST


@pytest.mark.parametrize(
    ("error", "kwargs", "action"),
    [
        (RetryAfter(7), {}, "pause_chat"),
        (RetryAfter(7), {"recent_429_chats": 2}, "pause_all"),
        (Forbidden("Forbidden: bot was blocked by the user"), {}, "deactivate"),
        (Forbidden("Forbidden: bot was kicked from the group chat"), {}, "deactivate"),
        (ChatMigrated(-100123), {}, "migrate"),
        (BadRequest("Bad Request: chat not found"), {}, "deactivate"),
        (BadRequest("Bad Request: TOPIC_CLOSED"), {"thread_id": 5}, "drop_topic"),
        (BadRequest("Bad Request: message thread not found"), {"thread_id": 5}, "drop_topic"),
        (BadRequest("Bad Request: topic closed"), {}, "deactivate"),
        (BadRequest("Bad Request: can't parse entities: unclosed tag"), {}, "plain"),
        (BadRequest("Bad Request: can't parse entities"), {"plain_tried": True}, "fail"),
        (BadRequest("Bad Request: message is too long"), {}, "fail"),
        (TimedOut(), {}, "retry"),
        (NetworkError("Bad Gateway"), {}, "retry"),
        (NetworkError("Bad Gateway"), {"max_attempts": 3, "attempts": 3}, "fail"),
        (ValueError("boom"), {}, "fail"),
    ],
)
def test_decisions(error: Exception, kwargs: dict[str, object], action: str) -> None:
    attempts = int(kwargs.pop("attempts", 1))  # type: ignore[call-overload]
    decision = outcome.decide(error, attempts, **kwargs)  # type: ignore[arg-type]
    assert decision.action == action
    assert decision.reason


def test_retry_after_carries_delay_and_migration_the_new_id() -> None:
    assert outcome.decide(RetryAfter(7), 1).delay == 7.0
    assert outcome.decide(ChatMigrated(-100123), 1).new_chat_id == -100123


def test_backoff_grows_exponentially_within_jitter_and_cap() -> None:
    delays = [outcome.decide(TimedOut(), n, jitter=0.0).delay for n in (1, 2, 3)]
    assert delays == [1.0, 2.0, 4.0]
    assert outcome.decide(TimedOut(), 2, jitter=0.999).delay == pytest.approx(4.0, rel=0.01)
    assert outcome.backoff(50, 0.999) <= outcome.BACKOFF_CAP


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_global_window_is_exact_and_sliding() -> None:
    clock = FakeClock()
    throttle = Throttle(30, clock=clock, margin=0)  # 3 per 0.1 s
    for chat in (1, 2, 3):
        assert throttle.next_allowed(chat) == 0
        throttle.record(chat, private=True)
        clock.now += 0.01
    # three sends at 1000.00, 1000.01, 1000.02: the fourth may go at 1000.10 exactly
    assert throttle.next_allowed(4) == pytest.approx(0.07)
    clock.now = 1000.1
    assert throttle.next_allowed(4) == 0
    throttle.record(4, private=True)
    assert throttle.next_allowed(5) == pytest.approx(0.01)


def test_private_one_per_second_group_twenty_per_minute() -> None:
    clock = FakeClock()
    throttle = Throttle(None, clock=clock, margin=0)
    throttle.record(1, private=True)
    assert throttle.next_allowed(1) == pytest.approx(1.0)
    assert throttle.next_allowed(2) == 0
    for _ in range(20):
        throttle.record(-5, private=False)
        clock.now += 0.5
    assert throttle.next_allowed(-5) == pytest.approx(60.0 - 10.0)
    clock.now += 50.0
    assert throttle.next_allowed(-5) == 0


def test_margin_lengthens_every_window_but_costs_little_rate() -> None:
    clock = FakeClock()
    throttle = Throttle(None, clock=clock, margin=0.025)
    throttle.record(1, private=True)
    clock.now += 1.0
    # exactly one second later Telegram might still count the first send: wait the margin
    assert throttle.next_allowed(1) == pytest.approx(0.025)
    paced = Window.per_second(30).split(10).padded(0.025)
    assert paced == Window(3, pytest.approx(0.1025))
    assert 0.97 * 30 <= paced.count / paced.seconds < 30


def test_global_budget_goes_out_in_small_bursts() -> None:
    clock = FakeClock()
    throttle = Throttle(30, clock=clock, margin=0)
    for chat in range(3):
        throttle.record(chat, private=True)
    assert throttle.next_allowed(100) == pytest.approx(0.1)
    assert Window(1, 0.5).split(10) == Window(1, 0.5)
    assert Window(1000, 1.0).split(10) == Window(100, 0.1)


def test_fractional_rates_and_idle_chats_are_forgotten() -> None:
    assert Window.per_second(0.5) == Window(1, 2.0)
    assert Window.per_second(25) == Window(25, 1.0)
    clock = FakeClock()
    throttle = Throttle(1000, clock=clock)
    for chat in range(1000):
        throttle.record(chat, private=True)
    clock.now += 61
    throttle.record(5000, private=True)
    assert throttle.chat_delay(3) == 0
    assert len(throttle._chats) == 1


def at(day: int, hh: int, mm: int) -> float:
    return dt.datetime(2025, 3, day, hh, mm, tzinfo=BAKU).timestamp()


def test_quiet_hours_across_midnight_hold_until_the_end() -> None:
    quiet = ChatSettings(quiet_start="22:00", quiet_end="07:30")
    assert schedule.timing(quiet, at(5, 21, 59), BAKU) == schedule.Timing()
    assert schedule.timing(quiet, at(5, 23, 0), BAKU).hold_until == at(6, 7, 30)
    assert schedule.timing(quiet, at(6, 3, 0), BAKU).hold_until == at(6, 7, 30)
    assert schedule.timing(quiet, at(6, 7, 30), BAKU) == schedule.Timing()
    silent = ChatSettings(quiet_start="22:00", quiet_end="07:30", quiet_silent=True)
    assert schedule.timing(silent, at(6, 3, 0), BAKU) == schedule.Timing(silent=True)


def test_quiet_hours_within_a_day_and_in_the_chat_zone() -> None:
    lunch = ChatSettings(quiet_start="12:00", quiet_end="13:00", timezone="UTC")
    tz = schedule.zone(lunch.timezone, "Asia/Baku")
    noon_utc = dt.datetime(2025, 3, 5, 12, 30, tzinfo=dt.UTC).timestamp()
    assert schedule.timing(lunch, noon_utc, tz).hold_until == noon_utc + 1800
    assert schedule.timing(lunch, noon_utc, BAKU) == schedule.Timing()
    assert schedule.zone("Not/AZone", "Asia/Baku") == BAKU


def test_digest_due_at_the_next_local_time_after_queueing() -> None:
    daily = ChatSettings(digest_time="08:00")
    queued = at(5, 9, 0)
    assert schedule.digest_due(daily, queued, at(5, 20, 0), BAKU) == at(6, 8, 0)
    assert schedule.digest_due(daily, queued, at(6, 8, 0), BAKU) is None
    assert schedule.digest_due(daily, at(6, 7, 0), at(6, 7, 59), BAKU) == at(6, 8, 0)
    assert schedule.digest_due(ChatSettings(), queued, queued, BAKU) is None
    assert schedule.parse_hhmm("25:99") is None


def test_a_late_wake_up_does_not_cost_rate_but_an_idle_gap_gives_no_credit() -> None:
    clock = FakeClock()
    throttle = Throttle(30, clock=clock, margin=0)  # 3 per 0.1 s
    for chat in range(3):
        throttle.record(chat, private=True)
    clock.now += 0.1015  # the timer fired 1.5 ms after the window freed
    throttle.record(10, private=True)
    throttle.record(11, private=True)
    throttle.record(12, private=True)
    # booked at the instant the window freed (1000.1), so the next burst is due at 1000.2
    assert throttle.global_delay() == pytest.approx(0.1 - 0.0015)
    assert throttle.chat_delay(10) == pytest.approx(1.0)  # chats count real send times
    clock.now += 10.0
    for chat in range(20, 23):
        throttle.record(chat, private=True)
    # after an idle gap sends count when they happen: no catching up
    assert throttle.global_delay() == pytest.approx(0.1)
