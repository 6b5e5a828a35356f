-- retrying deliveries indexed, endpoints keep their last failure
-- SQLite's two-argument MAX is GREATEST (both arguments are never NULL here:
-- updated_at is NOT NULL).
CREATE INDEX deliveries_mode_retrying ON deliveries(mode, status, created_at, id)
	WHERE status = 'PENDING' AND attempt_count > 0 AND return_status <> 'SUCCEEDED';
CREATE INDEX deliveries_endpoint_retrying ON deliveries(endpoint_id, status, created_at)
	WHERE status = 'PENDING' AND attempt_count > 0 AND return_status <> 'SUCCEEDED';
ALTER TABLE webhook_endpoints ADD COLUMN last_failure_at BIGINT;
UPDATE webhook_endpoints SET last_failure_at = (
	SELECT MAX(updated_at) FROM deliveries WHERE deliveries.endpoint_id = webhook_endpoints.id
	AND attempt_count > 0 AND (last_error <> '' OR last_status_code NOT BETWEEN 200 AND 299));

CREATE FUNCTION endpoint_last_failure() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	UPDATE webhook_endpoints SET last_failure_at = GREATEST(COALESCE(last_failure_at, 0), NEW.updated_at)
		WHERE id = NEW.endpoint_id;
	RETURN NULL;
END
$$;
CREATE TRIGGER endpoint_last_failure AFTER UPDATE OF attempt_count ON deliveries
	FOR EACH ROW
	WHEN (NEW.attempt_count > OLD.attempt_count AND (NEW.last_error <> '' OR NEW.last_status_code NOT BETWEEN 200 AND 299))
	EXECUTE FUNCTION endpoint_last_failure();
