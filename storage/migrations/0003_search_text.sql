-- Search sees each article's text and tags (issue 12).
-- tags: WordPress tag names, one a line.
ALTER TABLE articles ADD COLUMN tags TEXT NOT NULL DEFAULT '';

-- Each article's whole text, cleaned as the summary is. Kept apart from articles so that reading
-- headlines (/latest, a page of results, fan-out) never pages through texts. No row: stored
-- before this migration and not read yet (bot/backfill.py reads it); '' when the site had none.
CREATE TABLE article_texts (
    article_id INTEGER PRIMARY KEY REFERENCES articles(id) ON DELETE CASCADE,
    body       TEXT NOT NULL
);

-- The indexes keep only their tokens (external content): the text snippet() shows is read
-- through this view, so no text is stored twice. `sections` has no text to show.
CREATE VIEW articles_text AS
    SELECT a.id, a.title, a.tags, '' AS sections, a.author, a.summary,
        coalesce(t.body, '') AS body
    FROM articles a LEFT JOIN article_texts t ON t.article_id = a.id;

-- Two indexes, both of folded text (fold(), registered by storage/db.py; see bot/domain.py):
-- articles_fts holds every column, the text too; articles_about only what says what an article
-- is about (headline, tags, sections, author, summary). A search ranks articles_about's matches
-- first, and its doclists stay as short as before texts were indexed, so that tier is as fast.
-- `sections` holds one token per section slug ('climate-and-ecology' -> climateandecology).
-- Every write goes through storage/articles.py, which removes a row's old tokens with FTS5's
-- 'delete' command computed by the same expression that indexed them.
DROP TABLE articles_fts;
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, tags, sections, author, summary, body,
    content = 'articles_text', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE articles_about USING fts5(
    title, tags, sections, author, summary,
    content = 'articles_text', content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TEMP TABLE indexed AS
    SELECT a.id, fold(a.title) AS title, fold(a.tags) AS tags,
        (SELECT coalesce(group_concat(k, ' '), '') FROM (
            SELECT fold(replace(replace(x.section, '-', ''), '_', '')) AS k
            FROM article_sections x WHERE x.article_id = a.id ORDER BY x.section)) AS sections,
        fold(a.author) AS author, fold(a.summary) AS summary
    FROM articles a;
INSERT INTO articles_fts (rowid, title, tags, sections, author, summary, body)
    SELECT id, title, tags, sections, author, summary, '' FROM temp.indexed;
INSERT INTO articles_about (rowid, title, tags, sections, author, summary)
    SELECT id, title, tags, sections, author, summary FROM temp.indexed;
DROP TABLE temp.indexed;
