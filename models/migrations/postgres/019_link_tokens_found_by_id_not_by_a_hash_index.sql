-- link tokens found by their id, not by a hash index
-- A raw token carries the id of its row (its jti claim): a token is now
-- found by that id, and its row must hold the token's hash as well. The
-- unique index on token_hash, keyed by a random value, put every new token
-- on a random page of that index (on SQLite about half of the WAL written
-- per token under load; here a random page dirtied, and a full-page image
-- in the WAL after each checkpoint).
ALTER TABLE link_tokens DROP CONSTRAINT link_tokens_token_hash_key;
