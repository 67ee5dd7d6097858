"""Prometheus metrics: event counters the stages bump, and gauges read from the database."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

from bot.domain import Figures

# Our own registry: nothing a library registers globally leaks into the bot's /metrics.
REGISTRY = CollectorRegistry()
process_collector.ProcessCollector(registry=REGISTRY)
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

# Telegram answers within tens of milliseconds to seconds; 429 waits are counted, not timed.
_LATENCY = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

POLLS = Counter("newsbot_polls", "Feed polls per section", ["section"], registry=REGISTRY)
POLL_FAILURES = Counter(
    "newsbot_poll_failures", "Failed feed polls per section", ["section"], registry=REGISTRY
)
INGESTED = Counter("newsbot_articles_ingested", "New articles stored", registry=REGISTRY)
DELIVERIES = Counter(
    "newsbot_deliveries",
    "Deliveries finished by this process, by outcome (sent, failed, dropped)",
    ["outcome"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "newsbot_telegram_429", "429 Too Many Requests answers from Telegram", registry=REGISTRY
)
SEND_LATENCY = Histogram(
    "newsbot_send_latency_seconds",
    "Time from the send request to Telegram's confirmation",
    buckets=_LATENCY,
    registry=REGISTRY,
)
INLINE_QUERIES = Counter("newsbot_inline_queries", "Inline queries answered", registry=REGISTRY)
INLINE_LATENCY = Histogram(
    "newsbot_inline_query_latency_seconds",
    "Time to answer one inline query",
    buckets=_LATENCY,
    registry=REGISTRY,
)

# Read from the database at scrape time, so they are right after a restart too.
ACTIVE_CHATS = Gauge("newsbot_active_chats", "Chats the bot can write to", registry=REGISTRY)
SUBSCRIPTIONS = Gauge(
    "newsbot_subscriptions",
    "Subscriptions of active chats per section",
    ["section"],
    registry=REGISTRY,
)
OUTBOX = Gauge(
    "newsbot_outbox_rows", "Delivery rows stored, by status", ["status"], registry=REGISTRY
)
ARTICLES = Gauge("newsbot_articles_stored", "Articles stored", registry=REGISTRY)
LAST_POLL = Gauge(
    "newsbot_last_successful_poll_timestamp_seconds",
    "Unix time of the newest successful poll of each section",
    ["section"],
    registry=REGISTRY,
)


def poll(section: str, ok: bool) -> None:
    """One feed of `section` was polled; `ok` False when the fetch or parse failed."""
    POLLS.labels(section).inc()
    if not ok:
        POLL_FAILURES.labels(section).inc()


def articles_ingested(count: int) -> None:
    """`count` genuinely new articles were stored."""
    INGESTED.inc(count)


def delivery_sent(latency: float) -> None:
    """Telegram confirmed a message, `latency` seconds after we asked."""
    DELIVERIES.labels("sent").inc()
    SEND_LATENCY.observe(latency)


def delivery_failed() -> None:
    """A delivery was given up for good (blocked, chat gone, bad request)."""
    DELIVERIES.labels("failed").inc()


def delivery_dropped(count: int = 1) -> None:
    """Pending deliveries were dropped without sending (chat left, topic closed)."""
    DELIVERIES.labels("dropped").inc(count)


def rate_limited() -> None:
    """Telegram answered 429."""
    RATE_LIMITED.inc()


def inline_query(latency: float) -> None:
    """An inline query was answered after `latency` seconds."""
    INLINE_QUERIES.inc()
    INLINE_LATENCY.observe(latency)


def observe(figures: Figures) -> None:
    """Set the database-backed gauges from a fresh snapshot."""
    ACTIVE_CHATS.set(figures.active_chats)
    ARTICLES.set(figures.articles)
    for status, count in figures.deliveries.items():
        OUTBOX.labels(status).set(count)
    # Cleared first so a section removed from the catalogue stops being reported.
    SUBSCRIPTIONS.clear()
    LAST_POLL.clear()
    for section in figures.sections:
        SUBSCRIPTIONS.labels(section.slug).set(section.subscriptions)
        if section.last_success_at is not None:
            LAST_POLL.labels(section.slug).set(section.last_success_at)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
