-- metadata values found in any letter case
DROP INDEX user_metadata_value;
CREATE INDEX user_metadata_value_nocase ON user_metadata(mode, value COLLATE NOCASE);
