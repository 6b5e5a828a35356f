-- resend requests counted
ALTER TABLE deliveries ADD COLUMN manual_requests INTEGER NOT NULL DEFAULT 0;
