package models

// migrations run in order, each in its own transaction, and are recorded in
// schema_migrations. Append only: never edit a migration that has shipped.
var migrations = []struct {
	name string
	sql  string
}{
	{"initial schema", schemaV1},
	{"delivery resend state and endpoint status index", schemaV2},
	{"console counters", schemaConsoleCounters},
	{"console II: audit and delivery log indices", schemaConsole2},
	{"hourly delivery counts", schemaDeliveryHourly},
	{"endpoint health index", schemaEndpointHealth},
	{"resend requests counted", schemaManualRequests},
	{"attempt bodies stored once, with their event", schemaAttemptBodyOnce},
	{"status indices hold pending and failed deliveries only", schemaStatusIndicesPendingFailed},
	{"metadata values found in any letter case", schemaMetadataNocase},
	{"API request log", schemaAPIRequests},
	{"retrying deliveries indexed, endpoints keep their last failure", schemaRetrying},
	{"two-factor sign-in", schemaTwoFactor},
	{"endpoint rate limit and in-flight limit", schemaEndpointLimits},
	{"operators choose the time zone of the console's times", schemaOperatorTimeZone},
}

const schemaV1 = `
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
`

// schemaV2 remembers what a manual resend asked for: the next attempt is
// MANUAL (and by whom), and which status to return to if that one try fails.
// auto_attempts counts only scheduled tries, so a resend does not eat into
// the retry schedule. The two partial indices serve "pending deliveries of
// one endpoint" (delete, disable) and "failed ones since a time" (recover)
// without scanning its history; being partial, a successful delivery only
// leaves one of them and enters neither.
const schemaV2 = `
ALTER TABLE deliveries ADD COLUMN auto_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN manual_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN manual_by TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN return_status TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN triggered_by TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_endpoint_pending ON deliveries(endpoint_id) WHERE status = 'PENDING';
CREATE INDEX deliveries_endpoint_failed ON deliveries(endpoint_id, created_at) WHERE status = 'FAILED';
`

// schemaConsoleCounters keeps the number of users per mode in a row that
// triggers maintain, so the console's dashboard never counts the users table
// (the starting values are counted once here), and indexes what the
// dashboard and the session sweep read.
const schemaConsoleCounters = `
CREATE TABLE counters (
	name  TEXT NOT NULL,
	mode  TEXT NOT NULL,
	value INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (name, mode)
);
INSERT INTO counters(name, mode, value) VALUES
	('users', 'SANDBOX', (SELECT COUNT(*) FROM users WHERE mode = 'SANDBOX')),
	('users', 'PRODUCTION', (SELECT COUNT(*) FROM users WHERE mode = 'PRODUCTION'));
CREATE TRIGGER counters_users_insert AFTER INSERT ON users BEGIN
	INSERT INTO counters(name, mode, value) VALUES ('users', NEW.mode, 1)
		ON CONFLICT(name, mode) DO UPDATE SET value = value + 1;
END;
CREATE TRIGGER counters_users_delete AFTER DELETE ON users BEGIN
	UPDATE counters SET value = value - 1 WHERE name = 'users' AND mode = OLD.mode;
END;
CREATE INDEX sessions_expires ON sessions(expires_at);
-- The dashboard's "active tokens" is a count over this index alone.
CREATE INDEX link_tokens_active ON link_tokens(mode, expires_at) WHERE consumed_at IS NULL AND revoked_at IS NULL;
`

// schemaConsole2 serves the audit log's filters in newest-first order: by
// action, and by operator or target with the id tie-breaker the keyset
// cursor uses, so no filter sorts rows in a temporary tree. An event's
// deliveries are read in creation order: with event_id alone SQLite walked
// the whole mode index for the order instead (200 ms at a million rows).
const schemaConsole2 = `
DROP INDEX deliveries_event;
CREATE INDEX deliveries_event_created ON deliveries(event_id, created_at, id);
CREATE INDEX audit_action ON audit_entries(action, created_at, id);
DROP INDEX audit_operator;
CREATE INDEX audit_operator_created ON audit_entries(operator_id, created_at, id);
DROP INDEX audit_target;
CREATE INDEX audit_target_created ON audit_entries(target_id, created_at, id);
`

// schemaDeliveryHourly keeps, per mode and hour of creation, how many
// deliveries are succeeded, failed and pending, so the dashboard reads 24
// rows whatever the volume instead of counting a day of deliveries. Triggers
// keep the rows exact: a delivery counts in the hour it was created, and a
// change of status (sent, failed, resent, recovered) moves it between the
// columns of that hour. The common change, status alone, costs one update of
// one small row; a change of mode or creation time (which nothing does today)
// moves the delivery between rows, so even hand-made edits stay counted.
// Existing deliveries are counted once here.
const schemaDeliveryHourly = `
CREATE TABLE delivery_hourly (
	mode      TEXT NOT NULL,
	hour      INTEGER NOT NULL,                -- start of the hour, ms since the epoch
	succeeded INTEGER NOT NULL DEFAULT 0,
	failed    INTEGER NOT NULL DEFAULT 0,
	pending   INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (mode, hour)
) WITHOUT ROWID;
INSERT INTO delivery_hourly(mode, hour, succeeded, failed, pending)
	SELECT mode, created_at - created_at % 3600000,
		SUM(status = 'SUCCEEDED'), SUM(status = 'FAILED'), SUM(status = 'PENDING')
	FROM deliveries GROUP BY 1, 2;
CREATE TRIGGER delivery_hourly_insert AFTER INSERT ON deliveries BEGIN
	INSERT INTO delivery_hourly(mode, hour, succeeded, failed, pending)
		VALUES (NEW.mode, NEW.created_at - NEW.created_at % 3600000,
			NEW.status = 'SUCCEEDED', NEW.status = 'FAILED', NEW.status = 'PENDING')
		ON CONFLICT(mode, hour) DO UPDATE SET succeeded = succeeded + excluded.succeeded,
			failed = failed + excluded.failed, pending = pending + excluded.pending;
END;
CREATE TRIGGER delivery_hourly_status AFTER UPDATE OF status ON deliveries
	WHEN OLD.status IS NOT NEW.status AND OLD.mode IS NEW.mode AND OLD.created_at IS NEW.created_at
BEGIN
	UPDATE delivery_hourly SET
		succeeded = succeeded + (NEW.status = 'SUCCEEDED') - (OLD.status = 'SUCCEEDED'),
		failed = failed + (NEW.status = 'FAILED') - (OLD.status = 'FAILED'),
		pending = pending + (NEW.status = 'PENDING') - (OLD.status = 'PENDING')
		WHERE mode = NEW.mode AND hour = NEW.created_at - NEW.created_at % 3600000;
END;
CREATE TRIGGER delivery_hourly_move AFTER UPDATE OF mode, created_at ON deliveries
	WHEN OLD.mode IS NOT NEW.mode OR OLD.created_at IS NOT NEW.created_at
BEGIN
	UPDATE delivery_hourly SET succeeded = succeeded - (OLD.status = 'SUCCEEDED'),
		failed = failed - (OLD.status = 'FAILED'), pending = pending - (OLD.status = 'PENDING')
		WHERE mode = OLD.mode AND hour = OLD.created_at - OLD.created_at % 3600000;
	INSERT INTO delivery_hourly(mode, hour, succeeded, failed, pending)
		VALUES (NEW.mode, NEW.created_at - NEW.created_at % 3600000,
			NEW.status = 'SUCCEEDED', NEW.status = 'FAILED', NEW.status = 'PENDING')
		ON CONFLICT(mode, hour) DO UPDATE SET succeeded = succeeded + excluded.succeeded,
			failed = failed + excluded.failed, pending = pending + excluded.pending;
END;
CREATE TRIGGER delivery_hourly_delete AFTER DELETE ON deliveries BEGIN
	UPDATE delivery_hourly SET succeeded = succeeded - (OLD.status = 'SUCCEEDED'),
		failed = failed - (OLD.status = 'FAILED'), pending = pending - (OLD.status = 'PENDING')
		WHERE mode = OLD.mode AND hour = OLD.created_at - OLD.created_at % 3600000;
END;
`

// schemaEndpointHealth serves an endpoint's health (deliveries per status in
// the last 24 hours, its last success and failure) from one index range per
// question. Without it each count read every delivery of the endpoint in
// the window from the table: 120 ms for the endpoint list at a million
// deliveries. It also serves what the two partial indices of migration 2
// did (an endpoint's pending deliveries, its failed ones since a time), so
// they go; the dispatcher's cost per delivery did not change measurably.
const schemaEndpointHealth = `
CREATE INDEX deliveries_endpoint_status_created ON deliveries(endpoint_id, status, created_at);
DROP INDEX deliveries_endpoint_pending;
DROP INDEX deliveries_endpoint_failed;
`

// schemaManualRequests counts the resends asked for on each delivery. A
// resend that arrives while an attempt is in flight only bumps the count;
// recording that attempt sees the count moved since the claim and queues
// one more MANUAL attempt at once, whatever the outcome.
const schemaManualRequests = `
ALTER TABLE deliveries ADD COLUMN manual_requests INTEGER NOT NULL DEFAULT 0;
`

// schemaAttemptBodyOnce lets an attempt whose request body is its event's
// payload (every attempt the dispatcher makes: it sends the stored JSON
// byte for byte) point at the event instead of holding a copy. Events are
// never changed or deleted, and reading an attempt reads its event too, so
// the log shows the same bytes; the attempts table, the largest one at a
// few tries per delivery and 30 days kept, holds each payload no more.
const schemaAttemptBodyOnce = `
ALTER TABLE attempts ADD COLUMN body_is_payload INTEGER NOT NULL DEFAULT 0;
`

// schemaStatusIndicesPendingFailed narrows the two status indices to
// pending and failed deliveries. Settling a delivery as SUCCEEDED, what the
// dispatcher does thousands of times a second, then only removes it from
// them instead of moving it within each (two index inserts less per
// delivery: BenchmarkDispatchQueue about 10% less CPU). Succeeded
// deliveries, the bulk, are listed from the indices without status, in
// creation order, filtered as read. An endpoint's last success, which was
// read from its status index, is kept on the endpoint instead (the
// dispatcher sets it once per round), so it stays one row to read however
// long the endpoint has failed since.
const schemaStatusIndicesPendingFailed = `
ALTER TABLE webhook_endpoints ADD COLUMN last_success_at INTEGER;
UPDATE webhook_endpoints SET last_success_at = (
	SELECT MAX(COALESCE(completed_at, updated_at)) FROM deliveries
	WHERE deliveries.endpoint_id = webhook_endpoints.id AND deliveries.status = 'SUCCEEDED');
DROP INDEX deliveries_mode_status_created;
DROP INDEX deliveries_endpoint_status_created;
CREATE INDEX deliveries_mode_pending_failed ON deliveries(mode, status, created_at, id)
	WHERE status = 'PENDING' OR status = 'FAILED';
CREATE INDEX deliveries_endpoint_pending_failed ON deliveries(endpoint_id, status, created_at)
	WHERE status = 'PENDING' OR status = 'FAILED';
`

// schemaMetadataNocase lets support find a metadata value as a ticket spells
// it (CUST-8841 for cust-8841) and by its start: equality and LIKE 'x%' with
// COLLATE NOCASE both read one range of a NOCASE index, where the binary
// index it replaces could serve neither. One index, as before, so creating
// a user costs the same.
const schemaMetadataNocase = `
DROP INDEX user_metadata_value;
CREATE INDEX user_metadata_value_nocase ON user_metadata(mode, value COLLATE NOCASE);
`

// schemaAPIRequests is the API request log: one row per /v1 request, keyed
// by the request id the envelope carries, written in batches off the
// request path (see models/api_request.go). The indices serve the console's
// lists newest first: the mode's requests, a user's, a key's, and the
// errors alone (partial, so the bulk of successful requests skips it).
// They end at the time, without the id the other lists' indices carry as
// a tie-breaker: the 36-character id made each insert a third dearer
// (BenchmarkRecordAPIRequests, 22 against 15 CPU-µs a row), and only
// requests of the same millisecond are sorted by it after the read.
const schemaAPIRequests = `
CREATE TABLE api_requests (
	id            TEXT PRIMARY KEY,        -- the request id (X-Request-Id, envelope requestId)
	mode          TEXT NOT NULL,
	api_key_id    TEXT NOT NULL DEFAULT '',
	api_key       TEXT NOT NULL DEFAULT '', -- the public key, never the secret
	method        TEXT NOT NULL,
	path          TEXT NOT NULL,
	query         TEXT NOT NULL DEFAULT '',
	user_id       TEXT NOT NULL DEFAULT '',
	status        INTEGER NOT NULL,
	error_code    TEXT NOT NULL DEFAULT '',
	error_message TEXT NOT NULL DEFAULT '',
	duration_us   INTEGER NOT NULL DEFAULT 0,
	request_body  TEXT NOT NULL DEFAULT '',  -- writes only, secrets redacted
	ip            TEXT NOT NULL DEFAULT '',
	created_at    INTEGER NOT NULL
);
CREATE INDEX api_requests_mode_created ON api_requests(mode, created_at);
CREATE INDEX api_requests_user_created ON api_requests(user_id, created_at) WHERE user_id <> '';
CREATE INDEX api_requests_key_created ON api_requests(api_key_id, created_at);
CREATE INDEX api_requests_errors_created ON api_requests(mode, created_at) WHERE status >= 400;
`

// schemaRetrying indexes the deliveries still being tried after a failure
// (RETRYING, see retryingCond), per mode and per endpoint, so the delivery
// log's filter, the dashboard and the endpoint list count them from a range
// as small as the failures. A delivery whose first attempt succeeds never
// enters them: the partial condition is false before and after.
//
// An endpoint keeps when an attempt to it last failed, set by a trigger on
// the attempt's settling (whoever settles it), so neither a recovery that
// turns failed deliveries back into pending ones nor a retry that succeeds
// erases that history. The trigger's condition is false for a successful
// attempt, the common case, which then costs one comparison.
const schemaRetrying = `
CREATE INDEX deliveries_mode_retrying ON deliveries(mode, status, created_at, id)
	WHERE status = 'PENDING' AND attempt_count > 0 AND return_status <> 'SUCCEEDED';
CREATE INDEX deliveries_endpoint_retrying ON deliveries(endpoint_id, status, created_at)
	WHERE status = 'PENDING' AND attempt_count > 0 AND return_status <> 'SUCCEEDED';
ALTER TABLE webhook_endpoints ADD COLUMN last_failure_at INTEGER;
UPDATE webhook_endpoints SET last_failure_at = (
	SELECT MAX(updated_at) FROM deliveries WHERE deliveries.endpoint_id = webhook_endpoints.id
	AND attempt_count > 0 AND (last_error <> '' OR last_status_code NOT BETWEEN 200 AND 299));
CREATE TRIGGER endpoint_last_failure AFTER UPDATE OF attempt_count ON deliveries
	WHEN NEW.attempt_count > OLD.attempt_count AND (NEW.last_error <> '' OR NEW.last_status_code NOT BETWEEN 200 AND 299)
BEGIN
	UPDATE webhook_endpoints SET last_failure_at = MAX(COALESCE(last_failure_at, 0), NEW.updated_at) WHERE id = NEW.endpoint_id;
END;
`

// schemaEndpointLimits gives each endpoint its own delivery limits: a rate
// in requests a second (0: none) and a cap on attempts in flight at once
// (0: the dispatcher's default).
const schemaEndpointLimits = `
ALTER TABLE webhook_endpoints ADD COLUMN rate_limit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN max_in_flight INTEGER NOT NULL DEFAULT 0;
`
