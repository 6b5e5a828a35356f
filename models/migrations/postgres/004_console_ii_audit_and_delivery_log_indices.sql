-- console II: audit and delivery log indices
DROP INDEX deliveries_event;
CREATE INDEX deliveries_event_created ON deliveries(event_id, created_at, id);
CREATE INDEX audit_action ON audit_entries(action, created_at, id);
DROP INDEX audit_operator;
CREATE INDEX audit_operator_created ON audit_entries(operator_id, created_at, id);
DROP INDEX audit_target;
CREATE INDEX audit_target_created ON audit_entries(target_id, created_at, id);
