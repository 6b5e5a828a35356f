-- API requests' users indexed behind the log
-- The user's requests are listed from api_request_users, as on SQLite.
-- Here the log's own insert fills it, in the same statement (a random
-- index page costs PostgreSQL a WAL record, not the whole page as on
-- SQLite, so there is nothing to win by writing it later).
CREATE TABLE api_request_users (
	user_id    TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	request_id TEXT NOT NULL,
	PRIMARY KEY (user_id, created_at, request_id)
);
INSERT INTO api_request_users(user_id, created_at, request_id)
	SELECT user_id, created_at, id FROM api_requests WHERE user_id <> '';
DROP INDEX api_requests_user_created;
