-- console counters
-- SQLite's triggers become plpgsql functions, one per trigger and named
-- after it; the tables they touch are found through the search_path, like
-- every statement of the store.
CREATE TABLE counters (
	name  TEXT NOT NULL,
	mode  TEXT NOT NULL,
	value BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (name, mode)
);
INSERT INTO counters(name, mode, value) VALUES
	('users', 'SANDBOX', (SELECT COUNT(*) FROM users WHERE mode = 'SANDBOX')),
	('users', 'PRODUCTION', (SELECT COUNT(*) FROM users WHERE mode = 'PRODUCTION'));

CREATE FUNCTION counters_users_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO counters(name, mode, value) VALUES ('users', NEW.mode, 1)
		ON CONFLICT(name, mode) DO UPDATE SET value = counters.value + 1;
	RETURN NULL;
END
$$;
CREATE TRIGGER counters_users_insert AFTER INSERT ON users
	FOR EACH ROW EXECUTE FUNCTION counters_users_insert();

CREATE FUNCTION counters_users_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE counters SET value = value - 1 WHERE name = 'users' AND mode = OLD.mode;
	RETURN NULL;
END
$$;
CREATE TRIGGER counters_users_delete AFTER DELETE ON users
	FOR EACH ROW EXECUTE FUNCTION counters_users_delete();

CREATE INDEX sessions_expires ON sessions(expires_at);
-- The dashboard's "active tokens" is a count over this index alone.
CREATE INDEX link_tokens_active ON link_tokens(mode, expires_at) WHERE consumed_at IS NULL AND revoked_at IS NULL;
