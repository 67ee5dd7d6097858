-- A second daily digest ('HH:MM' in the chat's time zone); NULL = at most one digest a day.
-- Digest and quiet-hour times may now be any hour, and the time zone any IANA name: both were
-- TEXT already, so only the new column is needed.
ALTER TABLE chats ADD COLUMN digest_time2 TEXT;
