-- API request log
-- status is a Go int (an HTTP status): INTEGER; duration_us is an int64: BIGINT.
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
	duration_us   BIGINT NOT NULL DEFAULT 0,
	request_body  TEXT NOT NULL DEFAULT '',  -- writes only, secrets redacted
	ip            TEXT NOT NULL DEFAULT '',
	created_at    BIGINT NOT NULL
);
CREATE INDEX api_requests_mode_created ON api_requests(mode, created_at);
CREATE INDEX api_requests_user_created ON api_requests(user_id, created_at) WHERE user_id <> '';
CREATE INDEX api_requests_key_created ON api_requests(api_key_id, created_at);
CREATE INDEX api_requests_errors_created ON api_requests(mode, created_at) WHERE status >= 400;
