"""Logging set-up: one line per event, text or JSON, never the bot token."""

from __future__ import annotations

import json
import logging
import sys
from urllib.parse import quote


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", {}))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, ensure_ascii=False, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return line


def token_forms(token: str) -> list[str]:
    """The ways a token can appear in text: whole, URL-encoded, and its secret half alone."""
    secret = token.partition(":")[2]
    found = {token, quote(token, safe=""), secret if len(secret) >= 8 else token}
    return sorted((s for s in found if s), key=len, reverse=True)


def redact(text: str, token: str | None) -> str:
    """`text` with every form of the bot token replaced by `<token>`."""
    for secret in token_forms(token) if token else ():
        text = text.replace(secret, "<token>")
    return text


class Redact(logging.Filter):
    """Replaces the bot token (and its secret half) in every record that reaches the handler.

    Bot API URLs embed the token, so any library's debug line or exception can carry it.
    """

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token

    def _clean(self, text: str) -> str:
        return redact(text, self.token)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self._clean(message)
        if clean != message:
            record.msg, record.args = clean, None
        fields = getattr(record, "fields", None)
        if fields:
            record.fields = {
                k: v if isinstance(v, int | float | None) else self._clean(str(v))
                for k, v in fields.items()
            }
        if record.exc_info:
            # Rendered here, redacted, and cached where every formatter looks first.
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info)
        return True


def setup(log_format: str = "text", level: int = logging.INFO, token: str | None = None) -> None:
    """Configure the root logger once for the process; `token` never reaches the output."""
    handler = logging.StreamHandler(sys.stderr)
    if token:
        handler.addFilter(Redact(token))
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def event(
    logger: logging.Logger, message: str, level: int = logging.INFO, **fields: object
) -> None:
    """Log one event with stable keys (section=…, chat=…, article=…, outcome=…)."""
    logger.log(level, message, extra={"fields": fields})
