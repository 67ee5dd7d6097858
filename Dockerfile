# syntax=docker/dockerfile:1
# Two stages: uv resolves nothing here, it installs exactly what uv.lock pins; the final image
# carries only the virtual environment, no uv and no build tools.
FROM python:3.11-slim AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app
# Dependencies first, in their own layer, so a code change does not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY bot ./bot
COPY storage ./storage
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin newsbot \
    && mkdir /data \
    && chown newsbot:newsbot /data
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    NEWSBOT_DATABASE=/data/newsbot.db
# The database, its WAL and the instance lock live here; back it up with `newsbot backup`.
VOLUME ["/data"]
WORKDIR /app
USER 10001:10001
# Only used in webhook mode (NEWSBOT_WEBHOOK_URL); long polling needs no inbound port.
EXPOSE 8443
# Asks /healthz when NEWSBOT_METRICS_PORT is set, otherwise checks that the process holding the
# instance lock is alive; it never opens the database, so it cannot disturb the bot.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-m", "bot.health"]
CMD ["newsbot", "run"]
