"""Settings read from the environment, validated once, with messages that name the variable."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_SITE_URL = "https://aze.media"
# Seconds between asks of the site-wide feed: p95 publish-to-push about 10 s at 6 requests a
# minute (bench/ingest.py; README "Ingest").
DEFAULT_POLL_INTERVAL = 10.0

FREE_RATE_CAP = 30.0  # Telegram: about 30 messages per second for a bot
PAID_RATE_CAP = 1000.0  # with paid broadcasts (allow_paid_broadcast), up to 1000 per second

TOKEN_HELP = (
    "TELEGRAM_BOT_TOKEN is not set. Create a bot by talking to @BotFather in Telegram "
    "(send /newbot), copy the token it gives you and run: export TELEGRAM_BOT_TOKEN=<token>"
)

# @BotFather's tokens: the bot's numeric id, a colon, then a secret of letters, digits, - and _.
_TOKEN_SHAPE = re.compile(r"\d+:[A-Za-z0-9_-]+")
TOKEN_MALFORMED = (
    "TELEGRAM_BOT_TOKEN is malformed: a bot token is the bot's numeric id, a colon and a secret "
    "(like 123456789:AAH...); copy it again from @BotFather (/mybots -> API Token)"
)
# Telegram's own servers deliver webhooks over HTTPS only; a local Bot API server
# (`telegram-bot-api --local`, reached through TELEGRAM_BASE_URL) also accepts plain HTTP.
TELEGRAM_CLOUD_HOST = "api.telegram.org"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the bot reads from its environment."""

    token: str | None
    base_url: str
    site_url: str
    database: Path
    poll_interval: float
    sections_file: Path | None
    admin_ids: frozenset[int]
    rate_limit: float
    paid_broadcast: bool
    webhook_url: str | None
    listen: str
    port: int
    metrics_port: int | None
    log_format: str
    summary_min: int
    summary_max: int
    utm: str | None
    retention_days: int
    timezone: str
    # Defaults, so code that builds Settings by hand keeps working as fields are added.
    delivery_retention_days: int = 30
    drop_pending_updates: bool = False
    iv_rhash: str | None = None  # Instant View template hash; None = plain article links

    def require_token(self) -> str:
        """The bot token, or a ConfigError that says how to get one."""
        if not self.token:
            raise ConfigError(TOKEN_HELP)
        if not _TOKEN_SHAPE.fullmatch(self.token):
            raise ConfigError(TOKEN_MALFORMED)  # never the value itself: it may be a real secret
        return self.token

    @property
    def base_file_url(self) -> str:
        """Bot API file base that matches `base_url` (…/bot -> …/file/bot)."""
        head, sep, tail = self.base_url.rpartition("/bot")
        return f"{head}/file/bot{tail}" if sep else self.base_url


def _url(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    value = env.get(name, "").strip() or default
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not value >= minimum:  # also rejects NaN
        raise ConfigError(f"{name} must be at least {minimum:g}, got {raw!r}")
    return value


def _integer(
    env: Mapping[str, str], name: str, default: int | None, lo: int, hi: int
) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name} must be between {lo} and {hi}, got {raw!r}")
    return value


def _admin_ids(env: Mapping[str, str]) -> frozenset[int]:
    raw = env.get("NEWSBOT_ADMIN_IDS", "")
    ids = set()
    for part in raw.replace(",", " ").split():
        try:
            ids.add(int(part))
        except ValueError:
            raise ConfigError(
                f"NEWSBOT_ADMIN_IDS must list numeric Telegram user ids, got {part!r}"
            ) from None
    return frozenset(ids)


def _flag(env: Mapping[str, str], name: str) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _rhash(env: Mapping[str, str]) -> str | None:
    raw = env.get("NEWSBOT_IV_RHASH", "").strip()
    if raw and not re.fullmatch(r"[0-9a-fA-F]{6,64}", raw):
        raise ConfigError(
            "NEWSBOT_IV_RHASH must be the hexadecimal rhash of an Instant View template "
            f"(instantview.telegram.org), got {raw!r}"
        )
    return raw.lower() or None


def load(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the settings; raise ConfigError naming the first bad variable."""
    env = os.environ if env is None else env
    sections_file = env.get("NEWSBOT_SECTIONS_FILE", "").strip()
    if sections_file and not Path(sections_file).is_file():
        raise ConfigError(f"NEWSBOT_SECTIONS_FILE points at {sections_file!r}, which is not a file")
    log_format = env.get("NEWSBOT_LOG_FORMAT", "text").strip().lower() or "text"
    if log_format not in ("text", "json"):
        raise ConfigError(f"NEWSBOT_LOG_FORMAT must be 'text' or 'json', got {log_format!r}")
    summary_min = _integer(env, "NEWSBOT_SUMMARY_MIN", 200, 50, 2000)
    summary_max = _integer(env, "NEWSBOT_SUMMARY_MAX", 400, 80, 3000)
    assert summary_min is not None and summary_max is not None
    if summary_min > summary_max:
        raise ConfigError("NEWSBOT_SUMMARY_MIN must not exceed NEWSBOT_SUMMARY_MAX")
    port = _integer(env, "NEWSBOT_PORT", 8443, 1, 65535)
    assert port is not None
    retention = _integer(env, "NEWSBOT_RETENTION_DAYS", 365, 1, 36500)
    assert retention is not None
    delivery_retention = _integer(env, "NEWSBOT_DELIVERY_RETENTION_DAYS", 30, 1, 36500)
    assert delivery_retention is not None
    base_url = _url(env, "TELEGRAM_BASE_URL", DEFAULT_BASE_URL) or DEFAULT_BASE_URL
    webhook_url = _url(env, "NEWSBOT_WEBHOOK_URL", None)
    cloud = urlsplit(base_url).hostname == TELEGRAM_CLOUD_HOST
    if webhook_url and cloud and urlsplit(webhook_url).scheme != "https":
        raise ConfigError(
            f"NEWSBOT_WEBHOOK_URL must be an https:// URL, got {webhook_url!r}: Telegram "
            "delivers webhooks over HTTPS only (plain http:// works only with a local Bot "
            "API server set as TELEGRAM_BASE_URL)"
        )
    rate_limit = _number(env, "NEWSBOT_RATE_LIMIT", 25.0, 0.1)
    paid_broadcast = _flag(env, "NEWSBOT_PAID_BROADCAST")
    cap = PAID_RATE_CAP if paid_broadcast else FREE_RATE_CAP
    if rate_limit > cap:
        more = "" if paid_broadcast else "; above 30 needs NEWSBOT_PAID_BROADCAST=true"
        raise ConfigError(
            f"NEWSBOT_RATE_LIMIT must be at most {cap:g} messages per second{more}, "
            f"got {rate_limit:g}"
        )
    return Settings(
        token=env.get("TELEGRAM_BOT_TOKEN", "").strip() or None,
        base_url=base_url,
        site_url=_url(env, "NEWSBOT_SITE_URL", DEFAULT_SITE_URL) or DEFAULT_SITE_URL,
        database=Path(env.get("NEWSBOT_DATABASE", "").strip() or "newsbot.db"),
        poll_interval=_number(env, "NEWSBOT_POLL_INTERVAL", DEFAULT_POLL_INTERVAL, 1.0),
        sections_file=Path(sections_file) if sections_file else None,
        admin_ids=_admin_ids(env),
        rate_limit=rate_limit,
        paid_broadcast=paid_broadcast,
        webhook_url=webhook_url,
        listen=env.get("NEWSBOT_LISTEN", "").strip() or "0.0.0.0",
        port=port,
        metrics_port=_integer(env, "NEWSBOT_METRICS_PORT", None, 1, 65535),
        log_format=log_format,
        summary_min=summary_min,
        summary_max=summary_max,
        utm=env.get("NEWSBOT_UTM", "").strip() or None,
        retention_days=retention,
        timezone=env.get("NEWSBOT_TIMEZONE", "").strip() or "Asia/Baku",
        delivery_retention_days=delivery_retention,
        drop_pending_updates=_flag(env, "NEWSBOT_DROP_PENDING_UPDATES"),
        iv_rhash=_rhash(env),
    )
