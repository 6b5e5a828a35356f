-- one current signing key per mode
-- Two instances rotating a mode's key at the same moment could each retire
-- the current key and add their own, leaving two current. Such older
-- duplicates are retired now (they keep verifying what they signed), and
-- the index makes a second current key impossible: the later rotation
-- fails on it and runs again.
UPDATE signing_keys SET retired_at = (
	SELECT MAX(n.created_at) FROM signing_keys n WHERE n.mode = signing_keys.mode AND n.retired_at IS NULL)
WHERE retired_at IS NULL AND EXISTS (
	SELECT 1 FROM signing_keys n WHERE n.mode = signing_keys.mode AND n.retired_at IS NULL
		AND (n.created_at > signing_keys.created_at OR (n.created_at = signing_keys.created_at AND n.kid > signing_keys.kid)));
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys(mode) WHERE retired_at IS NULL;
