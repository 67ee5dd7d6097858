-- Search sees each article's text and tags (issue 12).
-- body: the whole text, cleaned as the summary is; NULL = stored before this migration and not
-- read yet (bot/backfill.py reads it from the site). tags: WordPress tag names, one a line.
ALTER TABLE articles ADD COLUMN body TEXT;
ALTER TABLE articles ADD COLUMN tags TEXT NOT NULL DEFAULT '';
CREATE INDEX articles_unread ON articles(id) WHERE body IS NULL;

-- The index keeps only its tokens (external content): the text snippet() shows is read from
-- articles through this view, so no body is stored twice. `sections` has no text to show.
CREATE VIEW articles_text AS
    SELECT id, title, tags, '' AS sections, author, summary, coalesce(body, '') AS body
    FROM articles;

-- Tokens are of folded text (fold(), registered by storage/db.py; see storage/text.py);
-- `sections` holds one token per section slug ('climate-and-ecology' -> climateandecology).
-- Every write goes through storage/articles.py, which removes a row's old tokens with FTS5's
-- 'delete' command from the same expression that indexed them.
DROP TABLE articles_fts;
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, tags, sections, author, summary, body,
    content = 'articles_text', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO articles_fts (rowid, title, tags, sections, author, summary, body)
    SELECT a.id, fold(a.title), fold(a.tags),
        (SELECT coalesce(group_concat(k, ' '), '') FROM (
            SELECT fold(replace(replace(x.section, '-', ''), '_', '')) AS k
            FROM article_sections x WHERE x.article_id = a.id ORDER BY x.section)),
        fold(a.author), fold(a.summary), fold(coalesce(a.body, ''))
    FROM articles a;
