-- status indices hold pending and failed deliveries only
ALTER TABLE webhook_endpoints ADD COLUMN last_success_at BIGINT;
UPDATE webhook_endpoints SET last_success_at = (
	SELECT MAX(COALESCE(completed_at, updated_at)) FROM deliveries
	WHERE deliveries.endpoint_id = webhook_endpoints.id AND deliveries.status = 'SUCCEEDED');
DROP INDEX deliveries_mode_status_created;
DROP INDEX deliveries_endpoint_status_created;
CREATE INDEX deliveries_mode_pending_failed ON deliveries(mode, status, created_at, id)
	WHERE status = 'PENDING' OR status = 'FAILED';
CREATE INDEX deliveries_endpoint_pending_failed ON deliveries(endpoint_id, status, created_at)
	WHERE status = 'PENDING' OR status = 'FAILED';
