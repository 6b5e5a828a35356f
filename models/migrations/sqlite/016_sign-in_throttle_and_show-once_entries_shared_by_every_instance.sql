-- sign-in throttle and show-once entries shared by every instance
-- One row per throttle key ("e|<ip>|<email>" or "i|<ip>"): settled
-- failures, tries begun and not yet settled (counted only until
-- in_flight_until, so a crashed instance's tries are forgotten), the last
-- try and the time before which no try is checked. Times in milliseconds.
CREATE TABLE login_throttle (
	key             TEXT PRIMARY KEY,
	failures        INTEGER NOT NULL DEFAULT 0,
	in_flight       INTEGER NOT NULL DEFAULT 0,
	in_flight_until INTEGER NOT NULL DEFAULT 0,
	last_at         INTEGER NOT NULL,
	until_at        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX login_throttle_last ON login_throttle(last_at);

-- What a console POST leaves for the page after its redirect, taken once by
-- the session that made it. The secret is sealed (column name once_secret
-- is its additional data).
CREATE TABLE console_once (
	id          TEXT PRIMARY KEY,
	session_id  TEXT NOT NULL,
	flash_kind  TEXT NOT NULL DEFAULT '',
	flash_text  TEXT NOT NULL DEFAULT '',
	secret_type TEXT NOT NULL DEFAULT '',
	once_secret TEXT NOT NULL DEFAULT '',
	expires_at  INTEGER NOT NULL
);
CREATE INDEX console_once_expires ON console_once(expires_at);
