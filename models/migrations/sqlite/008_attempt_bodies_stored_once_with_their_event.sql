-- attempt bodies stored once, with their event
ALTER TABLE attempts ADD COLUMN body_is_payload INTEGER NOT NULL DEFAULT 0;
