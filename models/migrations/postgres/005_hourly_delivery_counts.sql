-- hourly delivery counts
-- SQLite counts a boolean as 0 or 1; here each test is cast to an integer,
-- and SUM(status = 'X') is COUNT(*) FILTER (WHERE status = 'X'). IS NOT / IS
-- between values is IS DISTINCT FROM / IS NOT DISTINCT FROM. WITHOUT ROWID
-- has no counterpart (every PostgreSQL table is a heap): dropped.
CREATE TABLE delivery_hourly (
	mode      TEXT NOT NULL,
	hour      BIGINT NOT NULL,                 -- start of the hour, ms since the epoch
	succeeded BIGINT NOT NULL DEFAULT 0,
	failed    BIGINT NOT NULL DEFAULT 0,
	pending   BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (mode, hour)
);
INSERT INTO delivery_hourly(mode, hour, succeeded, failed, pending)
	SELECT mode, created_at - created_at % 3600000,
		COUNT(*) FILTER (WHERE status = 'SUCCEEDED'), COUNT(*) FILTER (WHERE status = 'FAILED'),
		COUNT(*) FILTER (WHERE status = 'PENDING')
	FROM deliveries GROUP BY 1, 2;

CREATE FUNCTION delivery_hourly_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO delivery_hourly(mode, hour, succeeded, failed, pending)
		VALUES (NEW.mode, NEW.created_at - NEW.created_at % 3600000,
			(NEW.status = 'SUCCEEDED')::int, (NEW.status = 'FAILED')::int, (NEW.status = 'PENDING')::int)
		ON CONFLICT(mode, hour) DO UPDATE SET succeeded = delivery_hourly.succeeded + excluded.succeeded,
			failed = delivery_hourly.failed + excluded.failed, pending = delivery_hourly.pending + excluded.pending;
	RETURN NULL;
END
$$;
CREATE TRIGGER delivery_hourly_insert AFTER INSERT ON deliveries
	FOR EACH ROW EXECUTE FUNCTION delivery_hourly_insert();

CREATE FUNCTION delivery_hourly_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE delivery_hourly SET
		succeeded = succeeded + (NEW.status = 'SUCCEEDED')::int - (OLD.status = 'SUCCEEDED')::int,
		failed = failed + (NEW.status = 'FAILED')::int - (OLD.status = 'FAILED')::int,
		pending = pending + (NEW.status = 'PENDING')::int - (OLD.status = 'PENDING')::int
		WHERE mode = NEW.mode AND hour = NEW.created_at - NEW.created_at % 3600000;
	RETURN NULL;
END
$$;
CREATE TRIGGER delivery_hourly_status AFTER UPDATE OF status ON deliveries
	FOR EACH ROW
	WHEN (OLD.status IS DISTINCT FROM NEW.status AND OLD.mode IS NOT DISTINCT FROM NEW.mode
		AND OLD.created_at IS NOT DISTINCT FROM NEW.created_at)
	EXECUTE FUNCTION delivery_hourly_status();

CREATE FUNCTION delivery_hourly_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE delivery_hourly SET succeeded = succeeded - (OLD.status = 'SUCCEEDED')::int,
		failed = failed - (OLD.status = 'FAILED')::int, pending = pending - (OLD.status = 'PENDING')::int
		WHERE mode = OLD.mode AND hour = OLD.created_at - OLD.created_at % 3600000;
	INSERT INTO delivery_hourly(mode, hour, succeeded, failed, pending)
		VALUES (NEW.mode, NEW.created_at - NEW.created_at % 3600000,
			(NEW.status = 'SUCCEEDED')::int, (NEW.status = 'FAILED')::int, (NEW.status = 'PENDING')::int)
		ON CONFLICT(mode, hour) DO UPDATE SET succeeded = delivery_hourly.succeeded + excluded.succeeded,
			failed = delivery_hourly.failed + excluded.failed, pending = delivery_hourly.pending + excluded.pending;
	RETURN NULL;
END
$$;
CREATE TRIGGER delivery_hourly_move AFTER UPDATE OF mode, created_at ON deliveries
	FOR EACH ROW
	WHEN (OLD.mode IS DISTINCT FROM NEW.mode OR OLD.created_at IS DISTINCT FROM NEW.created_at)
	EXECUTE FUNCTION delivery_hourly_move();

CREATE FUNCTION delivery_hourly_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE delivery_hourly SET succeeded = succeeded - (OLD.status = 'SUCCEEDED')::int,
		failed = failed - (OLD.status = 'FAILED')::int, pending = pending - (OLD.status = 'PENDING')::int
		WHERE mode = OLD.mode AND hour = OLD.created_at - OLD.created_at % 3600000;
	RETURN NULL;
END
$$;
CREATE TRIGGER delivery_hourly_delete AFTER DELETE ON deliveries
	FOR EACH ROW EXECUTE FUNCTION delivery_hourly_delete();
