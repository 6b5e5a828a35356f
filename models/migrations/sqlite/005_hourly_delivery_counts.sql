-- hourly delivery counts
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
