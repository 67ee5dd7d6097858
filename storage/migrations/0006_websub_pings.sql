-- WebSub pings the bot's hub endpoint received: when the last one was accepted and rejected,
-- how many, and why the last rejection (for `newsbot check`). One row per outcome.
CREATE TABLE websub_pings (
    outcome TEXT PRIMARY KEY CHECK (outcome IN ('accepted', 'rejected')),
    last_at INTEGER NOT NULL,
    count INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT ''
);
