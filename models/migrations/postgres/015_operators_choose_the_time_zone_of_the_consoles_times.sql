-- operators choose the time zone of the console's times
ALTER TABLE operators ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
