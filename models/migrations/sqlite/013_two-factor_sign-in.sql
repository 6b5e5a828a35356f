-- two-factor sign-in
CREATE TABLE operator_totp (
	operator_id TEXT PRIMARY KEY REFERENCES operators(id),
	secret      TEXT NOT NULL,
	created_at  INTEGER NOT NULL,
	enabled_at  INTEGER,
	last_step   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE recovery_codes (
	operator_id TEXT NOT NULL REFERENCES operators(id),
	code_hash   TEXT NOT NULL,
	used_at     INTEGER,
	PRIMARY KEY (operator_id, code_hash)
);
CREATE TABLE login_challenges (
	id          TEXT PRIMARY KEY,
	operator_id TEXT NOT NULL REFERENCES operators(id),
	next        TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	tries       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX login_challenges_expires ON login_challenges(expires_at);
