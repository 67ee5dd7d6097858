-- Chats the bot talks to. Settings live here because they belong to the chat, not a topic.
CREATE TABLE chats (
    id            INTEGER PRIMARY KEY,           -- Telegram chat id
    kind          TEXT    NOT NULL,              -- private | group | supergroup | channel
    title         TEXT    NOT NULL DEFAULT '',
    language      TEXT,                          -- en | az | ru; NULL = from the user's client
    style         TEXT    NOT NULL DEFAULT 'full',
    link_preview  INTEGER NOT NULL DEFAULT 1,
    digest_time   TEXT,                          -- 'HH:MM' local; NULL = push each article
    quiet_start   TEXT,
    quiet_end     TEXT,
    quiet_silent  INTEGER NOT NULL DEFAULT 0,
    timezone      TEXT,
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    INTEGER NOT NULL,              -- unix seconds, as every time in this schema
    updated_at    INTEGER NOT NULL
);

-- The effective catalogue, mirrored from configuration at start-up so rows can reference it.
CREATE TABLE sections (
    slug       TEXT PRIMARY KEY,
    name       TEXT    NOT NULL,
    parent     TEXT,
    emoji      TEXT    NOT NULL DEFAULT '',
    position   INTEGER NOT NULL DEFAULT 0,
    hidden     INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE subscriptions (
    chat_id    INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    thread_id  INTEGER NOT NULL DEFAULT 0,      -- forum topic; 0 = the chat itself
    section    TEXT    NOT NULL REFERENCES sections(slug) ON DELETE CASCADE ON UPDATE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (chat_id, thread_id, section)
);
CREATE INDEX subscriptions_by_section ON subscriptions(section);

-- Topic alerts: words a chat follows across all sections.
CREATE TABLE follows (
    chat_id    INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    thread_id  INTEGER NOT NULL DEFAULT 0,
    query      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (chat_id, thread_id, query)
);

CREATE TABLE articles (
    id            INTEGER PRIMARY KEY,
    key           TEXT    NOT NULL UNIQUE,      -- WordPress post id, guid or clean link
    url           TEXT    NOT NULL,
    title         TEXT    NOT NULL,
    summary       TEXT    NOT NULL DEFAULT '',
    author        TEXT    NOT NULL DEFAULT '',
    published_at  INTEGER NOT NULL,
    image_url     TEXT,
    word_count    INTEGER,
    first_seen_at INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    announced     INTEGER NOT NULL DEFAULT 0    -- 1 = handed to delivery; 0 = backlog, never pushed
);
CREATE INDEX articles_by_published ON articles(published_at DESC);

CREATE TABLE article_sections (
    article_id INTEGER NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    section    TEXT    NOT NULL,
    PRIMARY KEY (article_id, section)
) WITHOUT ROWID;
CREATE INDEX article_sections_by_section ON article_sections(section, article_id);

-- Search index; rowid = articles.id. Text is stored already folded (see fold() in bot/domain.py) so
-- that Azerbaijani letters unicode61 cannot fold (ı, ə) still match their Latin look-alikes.
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, summary, author, sections,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Per-feed polling state: conditional-GET validators, health and back-off.
CREATE TABLE feeds (
    url             TEXT PRIMARY KEY,
    section         TEXT    NOT NULL,
    etag            TEXT,
    last_modified   TEXT,
    initialized     INTEGER NOT NULL DEFAULT 0, -- 1 once its backlog was recorded
    last_fetch_at   INTEGER,
    last_success_at INTEGER,
    failures        INTEGER NOT NULL DEFAULT 0,
    next_fetch_at   INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT
);

CREATE TABLE broadcasts (
    id         INTEGER PRIMARY KEY,
    text       TEXT    NOT NULL,
    created_by INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);

-- The outbox: one row per message owed. A row is 'sent' only after Telegram confirmed it.
CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY,
    chat_id      INTEGER NOT NULL REFERENCES chats(id) ON DELETE CASCADE ON UPDATE CASCADE,
    thread_id    INTEGER NOT NULL DEFAULT 0,
    article_id   INTEGER REFERENCES articles(id) ON DELETE CASCADE,
    broadcast_id INTEGER REFERENCES broadcasts(id) ON DELETE CASCADE,
    status       TEXT    NOT NULL DEFAULT 'pending', -- pending | sent | failed | dropped
    attempts     INTEGER NOT NULL DEFAULT 0,
    not_before   INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL,
    sent_at      INTEGER,
    message_id   INTEGER,
    error        TEXT,
    UNIQUE (chat_id, thread_id, article_id),
    UNIQUE (chat_id, thread_id, broadcast_id)
);
CREATE INDEX deliveries_pending ON deliveries(id) WHERE status = 'pending';
CREATE INDEX deliveries_by_status_time ON deliveries(status, sent_at);
