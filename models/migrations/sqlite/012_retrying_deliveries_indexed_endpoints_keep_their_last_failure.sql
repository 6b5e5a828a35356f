-- retrying deliveries indexed, endpoints keep their last failure
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
