-- link tokens found by their id, not by a hash index
-- A raw token carries the id of its row (its jti claim): a token is now
-- found by that id, and its row must hold the token's hash as well. The
-- unique index on token_hash, keyed by a random value, put every new token
-- on a random page of that index: about half of the WAL written per token
-- under load (measured: 878 of 1,815 frames). SQLite cannot drop a
-- column's UNIQUE, so the table is rebuilt; nothing references it and it
-- has no triggers.
CREATE TABLE link_tokens_rebuilt (
	id          TEXT PRIMARY KEY,
	mode        TEXT NOT NULL,
	user_id     TEXT NOT NULL REFERENCES users(id),
	token_hash  TEXT NOT NULL,              -- hex SHA-256 of the raw token
	kid         TEXT NOT NULL,
	issued_by   TEXT NOT NULL DEFAULT '',
	issued_at   INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	consumed_at INTEGER,
	revoked_at  INTEGER,
	revoked_by  TEXT NOT NULL DEFAULT ''
);
INSERT INTO link_tokens_rebuilt(id, mode, user_id, token_hash, kid, issued_by, issued_at, expires_at, consumed_at, revoked_at, revoked_by)
	SELECT id, mode, user_id, token_hash, kid, issued_by, issued_at, expires_at, consumed_at, revoked_at, revoked_by
	FROM link_tokens ORDER BY id;
DROP TABLE link_tokens;
ALTER TABLE link_tokens_rebuilt RENAME TO link_tokens;
CREATE INDEX link_tokens_user ON link_tokens(user_id, issued_at);
CREATE INDEX link_tokens_mode_expires ON link_tokens(mode, expires_at);
CREATE INDEX link_tokens_active ON link_tokens(mode, expires_at) WHERE consumed_at IS NULL AND revoked_at IS NULL;
