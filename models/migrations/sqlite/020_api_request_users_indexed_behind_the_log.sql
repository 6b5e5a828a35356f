-- API requests' users indexed behind the log
-- The index on api_requests(user_id, created_at) put each logged request
-- on a random page of that index (a user's last page): a 500-row batch of
-- the log dirtied hundreds of pages, each written whole to the WAL, which
-- was most of what the log cost POST /v1/tokens. The user's requests are
-- now listed from api_request_users, which the store fills a few seconds
-- behind the log, sorted by user, so that a user's new entries land
-- together on that user's last page (request_users.go). Requests not yet
-- indexed are those after the rowid kept in settings, read from the log
-- itself: SQLite's rowids are handed out in commit order by its one
-- writer.
CREATE TABLE api_request_users (
	user_id    TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	request_id TEXT NOT NULL,
	PRIMARY KEY (user_id, created_at, request_id)
) WITHOUT ROWID;
INSERT INTO api_request_users(user_id, created_at, request_id)
	SELECT user_id, created_at, id FROM api_requests WHERE user_id <> '' ORDER BY user_id, created_at, id;
INSERT INTO settings(key, value) VALUES ('api_request_users_through', (SELECT COALESCE(MAX(rowid), 0) FROM api_requests));
DROP INDEX api_requests_user_created;
