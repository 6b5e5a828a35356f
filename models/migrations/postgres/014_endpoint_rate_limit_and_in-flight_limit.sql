-- endpoint rate limit and in-flight limit
ALTER TABLE webhook_endpoints ADD COLUMN rate_limit INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhook_endpoints ADD COLUMN max_in_flight INTEGER NOT NULL DEFAULT 0;
