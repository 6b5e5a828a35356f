-- delivery resend state and endpoint status index
-- manual_pending is a Go bool (Delivery.ManualPending): BOOLEAN.
ALTER TABLE deliveries ADD COLUMN auto_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN manual_pending BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE deliveries ADD COLUMN manual_by TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN return_status TEXT NOT NULL DEFAULT '';
ALTER TABLE attempts ADD COLUMN triggered_by TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_endpoint_pending ON deliveries(endpoint_id) WHERE status = 'PENDING';
CREATE INDEX deliveries_endpoint_failed ON deliveries(endpoint_id, created_at) WHERE status = 'FAILED';
