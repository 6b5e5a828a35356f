-- initial schema
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE operators (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
	password_hash TEXT NOT NULL,
	role          TEXT NOT NULL,
	created_at    INTEGER NOT NULL,
	last_login_at INTEGER,
	disabled_at   INTEGER
);

CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,          -- SHA-256 of the cookie value
	operator_id  TEXT NOT NULL REFERENCES operators(id),
	mode         TEXT NOT NULL,
	csrf_token   TEXT NOT NULL,
	ip           TEXT NOT NULL DEFAULT '',
	user_agent   TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	revoked_at   INTEGER
);
CREATE INDEX sessions_operator ON sessions(operator_id, created_at);

CREATE TABLE api_keys (
	id           TEXT PRIMARY KEY,
	mode         TEXT NOT NULL,
	name         TEXT NOT NULL,
	key          TEXT NOT NULL UNIQUE,
	secret_hash  TEXT NOT NULL,            -- hex SHA-256 of the secret
	created_by   TEXT NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER,
	revoked_at   INTEGER
);
CREATE INDEX api_keys_mode ON api_keys(mode, created_at);

CREATE TABLE signing_keys (
	kid         TEXT PRIMARY KEY,
	mode        TEXT NOT NULL,
	alg         TEXT NOT NULL,
	private_key BLOB NOT NULL,
	public_key  BLOB NOT NULL,
	created_at  INTEGER NOT NULL,
	retired_at  INTEGER
);
CREATE INDEX signing_keys_mode ON signing_keys(mode, created_at);

CREATE TABLE users (
	id                TEXT PRIMARY KEY,
	mode              TEXT NOT NULL,
	external_metadata TEXT NOT NULL DEFAULT '{}',
	created_at        INTEGER NOT NULL
);
CREATE INDEX users_mode_created ON users(mode, created_at, id);

-- One row per metadata pair so a support search for a value uses an index.
CREATE TABLE user_metadata (
	user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	mode    TEXT NOT NULL,
	key     TEXT NOT NULL,
	value   TEXT NOT NULL,
	PRIMARY KEY (user_id, key)
);
CREATE INDEX user_metadata_value ON user_metadata(mode, value);

CREATE TABLE link_tokens (
	id          TEXT PRIMARY KEY,
	mode        TEXT NOT NULL,
	user_id     TEXT NOT NULL REFERENCES users(id),
	token_hash  TEXT NOT NULL UNIQUE,       -- hex SHA-256 of the raw token
	kid         TEXT NOT NULL,
	issued_by   TEXT NOT NULL DEFAULT '',
	issued_at   INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	consumed_at INTEGER,
	revoked_at  INTEGER,
	revoked_by  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX link_tokens_user ON link_tokens(user_id, issued_at);
CREATE INDEX link_tokens_mode_expires ON link_tokens(mode, expires_at);

CREATE TABLE events (
	id         TEXT PRIMARY KEY,
	mode       TEXT NOT NULL,
	type       TEXT NOT NULL,
	user_id    TEXT NOT NULL DEFAULT '',
	payload    TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE INDEX events_mode_created ON events(mode, created_at, id);
CREATE INDEX events_user ON events(user_id, created_at);

CREATE TABLE webhook_endpoints (
	id                     TEXT PRIMARY KEY,
	mode                   TEXT NOT NULL,
	name                   TEXT NOT NULL,
	url                    TEXT NOT NULL,
	event_types            TEXT NOT NULL DEFAULT '[]',
	active                 INTEGER NOT NULL DEFAULT 1,
	include_payload        INTEGER NOT NULL DEFAULT 0,
	secret                 TEXT NOT NULL,
	previous_secret        TEXT NOT NULL DEFAULT '',
	previous_secret_until  INTEGER,
	disabled_at            INTEGER,
	disabled_reason        TEXT NOT NULL DEFAULT '',
	failing_since          INTEGER,
	created_at             INTEGER NOT NULL,
	updated_at             INTEGER NOT NULL,
	deleted_at             INTEGER
);
CREATE INDEX webhook_endpoints_mode ON webhook_endpoints(mode, created_at, id);

CREATE TABLE deliveries (
	id               TEXT PRIMARY KEY,
	mode             TEXT NOT NULL,
	endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints(id),
	event_id         TEXT NOT NULL REFERENCES events(id),
	event_type       TEXT NOT NULL,
	user_id          TEXT NOT NULL DEFAULT '',
	status           TEXT NOT NULL,          -- PENDING, SUCCEEDED, FAILED
	attempt_count    INTEGER NOT NULL DEFAULT 0,
	next_attempt_at  INTEGER,
	lease_owner      TEXT NOT NULL DEFAULT '',
	lease_expires_at INTEGER,
	last_status_code INTEGER NOT NULL DEFAULT 0,
	last_error       TEXT NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	completed_at     INTEGER
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE status = 'PENDING';
CREATE INDEX deliveries_mode_created ON deliveries(mode, created_at, id);
CREATE INDEX deliveries_endpoint_created ON deliveries(endpoint_id, created_at, id);
CREATE INDEX deliveries_mode_status_created ON deliveries(mode, status, created_at, id);
CREATE INDEX deliveries_mode_type_created ON deliveries(mode, event_type, created_at, id);
CREATE INDEX deliveries_user_created ON deliveries(user_id, created_at, id);
CREATE INDEX deliveries_event ON deliveries(event_id);

CREATE TABLE attempts (
	id               TEXT PRIMARY KEY,
	delivery_id      TEXT NOT NULL REFERENCES deliveries(id),
	mode             TEXT NOT NULL,
	number           INTEGER NOT NULL,
	trigger          TEXT NOT NULL,          -- AUTOMATIC or MANUAL
	url              TEXT NOT NULL,
	request_headers  TEXT NOT NULL DEFAULT '{}',
	request_body     TEXT NOT NULL DEFAULT '',
	response_status  INTEGER NOT NULL DEFAULT 0,
	response_headers TEXT NOT NULL DEFAULT '{}',
	response_body    TEXT NOT NULL DEFAULT '',
	duration_ms      INTEGER NOT NULL DEFAULT 0,
	error            TEXT NOT NULL DEFAULT '',
	started_at       INTEGER NOT NULL
);
CREATE INDEX attempts_delivery ON attempts(delivery_id, number);
CREATE INDEX attempts_started ON attempts(started_at);

CREATE TABLE audit_entries (
	id             TEXT PRIMARY KEY,
	operator_id    TEXT NOT NULL DEFAULT '',
	operator_email TEXT NOT NULL DEFAULT '',
	action         TEXT NOT NULL,
	mode           TEXT NOT NULL DEFAULT '',
	target_type    TEXT NOT NULL DEFAULT '',
	target_id      TEXT NOT NULL DEFAULT '',
	detail         TEXT NOT NULL DEFAULT '',
	ip             TEXT NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL
);
CREATE INDEX audit_created ON audit_entries(created_at, id);
CREATE INDEX audit_target ON audit_entries(target_id, created_at);
CREATE INDEX audit_operator ON audit_entries(operator_id, created_at);
