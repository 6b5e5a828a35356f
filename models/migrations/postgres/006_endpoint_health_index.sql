-- endpoint health index
CREATE INDEX deliveries_endpoint_status_created ON deliveries(endpoint_id, status, created_at);
DROP INDEX deliveries_endpoint_pending;
DROP INDEX deliveries_endpoint_failed;
