-- metadata values found in any letter case
-- SQLite's index on (mode, value COLLATE NOCASE) is an index on
-- (mode, lower(value)) here. A query uses it only when it says
-- lower(value) itself: "mode = $1 AND lower(value) = lower($2)" for a
-- value, "mode = $1 AND lower(value) LIKE lower($2) ESCAPE '\'" for a
-- prefix (text_pattern_ops lets LIKE 'abc%' be a range of the index
-- whatever the database's collation).
DROP INDEX user_metadata_value;
CREATE INDEX user_metadata_value_nocase ON user_metadata(mode, lower(value) text_pattern_ops);
