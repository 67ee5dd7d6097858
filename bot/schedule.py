"""Quiet hours and digests: pure decisions about when a chat may be sent to, in its time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain import ChatSettings


@dataclass(frozen=True, slots=True)
class Timing:
    """How a push may go out now: `hold_until` (unix seconds) when it must wait, or `silent`."""

    hold_until: float | None = None
    silent: bool = False


@lru_cache(maxsize=256)
def zone(name: str | None, default: str) -> tzinfo:
    """The chat's time zone, the default one when unset or unknown."""
    for candidate in (name, default):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def parse_hhmm(value: str | None) -> time | None:
    """'HH:MM' as a time, None when unset or malformed."""
    if not value:
        return None
    try:
        hours, minutes = value.strip().split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        return None


def _next_at(after: datetime, at: time) -> datetime:
    """The first local datetime at clock time `at` strictly after `after` (zone-aware)."""
    candidate = datetime.combine(after.date(), at, tzinfo=after.tzinfo)
    if candidate <= after:
        candidate = datetime.combine(after.date() + timedelta(days=1), at, tzinfo=after.tzinfo)
    return candidate


def quiet_end(settings: ChatSettings, now: float, tz: tzinfo) -> float | None:
    """When the quiet period covering `now` ends (unix seconds), None when not quiet now."""
    start, end = parse_hhmm(settings.quiet_start), parse_hhmm(settings.quiet_end)
    if start is None or end is None or start == end:
        return None
    local = datetime.fromtimestamp(now, tz)
    clock = local.time().replace(tzinfo=None)
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return None
    return _next_at(local, end).timestamp()


def digest_times(settings: ChatSettings) -> list[time]:
    """The chat's daily digest times (none, one, or two), in its local clock."""
    if parse_hhmm(settings.digest_time) is None:
        return []  # a second digest only counts beside a first
    times = (parse_hhmm(settings.digest_time), parse_hhmm(settings.digest_time2))
    return sorted({at for at in times if at is not None})


def next_digest(settings: ChatSettings, after: float, tz: tzinfo) -> float | None:
    """The first digest time strictly after `after` (unix seconds); None when not in digest mode."""
    local = datetime.fromtimestamp(after, tz)
    due = [_next_at(local, at).timestamp() for at in digest_times(settings)]
    return min(due) if due else None


def timing(settings: ChatSettings, now: float, tz: tzinfo) -> Timing:
    """Whether a push to this chat goes out now, silently, or waits until the quiet period ends."""
    end = quiet_end(settings, now, tz)
    if end is None:
        return Timing()
    if settings.quiet_silent:
        return Timing(silent=True)
    return Timing(hold_until=end)


def digest_due(settings: ChatSettings, queued_at: float, now: float, tz: tzinfo) -> float | None:
    """For a row queued at `queued_at`: None when its digest is due now, else when it will be."""
    due = next_digest(settings, queued_at, tz)
    if due is None or due <= now:
        return None
    return due


def last_digest(settings: ChatSettings, now: float, tz: tzinfo) -> float:
    """The latest digest time at or before `now`: rows queued before it belong to this digest."""
    local = datetime.fromtimestamp(now, tz)
    latest: list[float] = []
    for at in digest_times(settings):
        candidate = datetime.combine(local.date(), at, tzinfo=tz)
        if candidate > local:
            candidate = datetime.combine(local.date() - timedelta(days=1), at, tzinfo=tz)
        latest.append(candidate.timestamp())
    return max(latest) if latest else now
