-- attempt bodies stored once, with their event
-- body_is_payload is a Go bool (Attempt.BodyIsPayload): BOOLEAN.
ALTER TABLE attempts ADD COLUMN body_is_payload BOOLEAN NOT NULL DEFAULT FALSE;
