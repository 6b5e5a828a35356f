-- initial schema
-- SQLite's INTEGER millisecond times are BIGINT here; the flags Go reads and
-- writes as bool (webhook_endpoints.active, include_payload) are BOOLEAN.
-- Operator e-mail is compared in any letter case (SQLite's COLLATE NOCASE)
-- through a nondeterministic ICU collation: equality and the unique index
-- ignore case, but LIKE is refused on it (PostgreSQL 15), and nothing uses
-- LIKE on e-mail. The collation is made in the schema being migrated.
CREATE COLLATION IF NOT EXISTS nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);

CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE operators (
	id            TEXT PRIMARY KEY,
	email         TEXT NOT NULL UNIQUE COLLATE nocase,
	password_hash TEXT NOT NULL,
	role          TEXT NOT NULL,
	created_at    BIGINT NOT NULL,
	last_login_at BIGINT,
	disabled_at   BIGINT
);

CREATE TABLE sessions (
	id           TEXT PRIMARY KEY,          -- SHA-256 of the cookie value
	operator_id  TEXT NOT NULL REFERENCES operators(id),
	mode         TEXT NOT NULL,
	csrf_token   TEXT NOT NULL,
	ip           TEXT NOT NULL DEFAULT '',
	user_agent   TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	last_seen_at BIGINT NOT NULL,
	expires_at   BIGINT NOT NULL,
	revoked_at   BIGINT
);
CREATE INDEX sessions_operator ON sessions(operator_id, created_at);

CREATE TABLE api_keys (
	id           TEXT PRIMARY KEY,
	mode         TEXT NOT NULL,
	name         TEXT NOT NULL,
	key          TEXT NOT NULL UNIQUE,
	secret_hash  TEXT NOT NULL,            -- hex SHA-256 of the secret
	created_by   TEXT NOT NULL DEFAULT '',
	created_at   BIGINT NOT NULL,
	last_used_at BIGINT,
	revoked_at   BIGINT
);
CREATE INDEX api_keys_mode ON api_keys(mode, created_at);

-- private_key holds the sealed key, which the store writes and reads as
-- text ("kid:…", seal.go) and reseals with CAST(private_key AS TEXT)
-- (seal_store.go); SQLite keeps that text in its BLOB column as is, but a
-- BYTEA would turn it into bytes and cast back to hex. public_key is raw
-- bytes from Go: BYTEA.
CREATE TABLE signing_keys (
	kid         TEXT PRIMARY KEY,
	mode        TEXT NOT NULL,
	alg         TEXT NOT NULL,
	private_key TEXT NOT NULL,
	public_key  BYTEA NOT NULL,
	created_at  BIGINT NOT NULL,
	retired_at  BIGINT
);
CREATE INDEX signing_keys_mode ON signing_keys(mode, created_at);

CREATE TABLE users (
	id                TEXT PRIMARY KEY,
	mode              TEXT NOT NULL,
	external_metadata TEXT NOT NULL DEFAULT '{}',
	created_at        BIGINT NOT NULL
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
	issued_at   BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	consumed_at BIGINT,
	revoked_at  BIGINT,
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
	created_at BIGINT NOT NULL
);
CREATE INDEX events_mode_created ON events(mode, created_at, id);
CREATE INDEX events_user ON events(user_id, created_at);

CREATE TABLE webhook_endpoints (
	id                     TEXT PRIMARY KEY,
	mode                   TEXT NOT NULL,
	name                   TEXT NOT NULL,
	url                    TEXT NOT NULL,
	event_types            TEXT NOT NULL DEFAULT '[]',
	active                 BOOLEAN NOT NULL DEFAULT TRUE,
	include_payload        BOOLEAN NOT NULL DEFAULT FALSE,
	secret                 TEXT NOT NULL,
	previous_secret        TEXT NOT NULL DEFAULT '',
	previous_secret_until  BIGINT,
	disabled_at            BIGINT,
	disabled_reason        TEXT NOT NULL DEFAULT '',
	failing_since          BIGINT,
	created_at             BIGINT NOT NULL,
	updated_at             BIGINT NOT NULL,
	deleted_at             BIGINT
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
	next_attempt_at  BIGINT,
	lease_owner      TEXT NOT NULL DEFAULT '',
	lease_expires_at BIGINT,
	last_status_code INTEGER NOT NULL DEFAULT 0,
	last_error       TEXT NOT NULL DEFAULT '',
	created_at       BIGINT NOT NULL,
	updated_at       BIGINT NOT NULL,
	completed_at     BIGINT
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
	duration_ms      BIGINT NOT NULL DEFAULT 0,
	error            TEXT NOT NULL DEFAULT '',
	started_at       BIGINT NOT NULL
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
	created_at     BIGINT NOT NULL
);
CREATE INDEX audit_created ON audit_entries(created_at, id);
CREATE INDEX audit_target ON audit_entries(target_id, created_at);
CREATE INDEX audit_operator ON audit_entries(operator_id, created_at);
