-- The Telegram app language of a private chat's reader, as last seen: pushes use it when the
-- reader chose no language in /settings, so they read like the replies do.
ALTER TABLE chats ADD COLUMN client_language TEXT;
