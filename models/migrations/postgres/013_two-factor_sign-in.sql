-- two-factor sign-in
-- last_step is a Go int64 (operatorTOTP.LastStep): BIGINT.
CREATE TABLE operator_totp (
	operator_id TEXT PRIMARY KEY REFERENCES operators(id),
	secret      TEXT NOT NULL,
	created_at  BIGINT NOT NULL,
	enabled_at  BIGINT,
	last_step   BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE recovery_codes (
	operator_id TEXT NOT NULL REFERENCES operators(id),
	code_hash   TEXT NOT NULL,
	used_at     BIGINT,
	PRIMARY KEY (operator_id, code_hash)
);
CREATE TABLE login_challenges (
	id          TEXT PRIMARY KEY,
	operator_id TEXT NOT NULL REFERENCES operators(id),
	next        TEXT NOT NULL DEFAULT '',
	created_at  BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	tries       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX login_challenges_expires ON login_challenges(expires_at);
