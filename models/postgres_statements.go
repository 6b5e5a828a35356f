package models

import "strings"

// postgresStatements are PostgreSQL's words for the statements whose
// SQLite text it does not take, keyed by that text (each key is a named
// constant beside the code that runs it, with the reasons for its shape).
// Placeholders are numbered ($1…) where the order differs from SQLite's.
var postgresStatements = map[string]string{
	// A claim locks the due rows it takes and skips those another
	// instance is locking, so two instances never hold one delivery and
	// neither waits for the other; the lease written here outlives the
	// transaction (no row lock is held over an HTTP request). The rows
	// locked are then updated by their tuple ids (ctid), a TID scan: a
	// join back on id let the planner pick a hash join over a sequential
	// scan of the whole table, or the reverse, by its guess of how many
	// rows are due. A locked row cannot move before the update, so its
	// ctid holds. The last column stands for SQLite's rowid: the row's
	// new ctid as block<<16 | offset, which the settle finds it by.
	sqlClaimAny: postgresClaim(""),
	sqlClaim:    postgresClaim("\n\t\tAND endpoint_id NOT IN (SELECT jsonb_array_elements_text($5::jsonb))"),

	// The round's rows are fetched by the ctids their claims returned (a
	// TID scan, whatever the planner believes of the table) and matched to
	// their settlements by id. A row updated since its claim has moved:
	// it is not found, and flush decides those again one by one, as on
	// SQLite when the rowid's row is no longer ours.
	sqlSettleBatch: `UPDATE deliveries SET status = j.st, attempt_count = attempt_count + 1,
	auto_attempts = auto_attempts + j.auto, next_attempt_at = j.nxt, lease_owner = '', lease_expires_at = NULL,
	last_status_code = j.code, last_error = j.err,
	completed_at = CASE WHEN j.st = 'PENDING' THEN NULL ELSE COALESCE(completed_at, $1) END, updated_at = $1,
	manual_pending = CASE WHEN j.man THEN FALSE ELSE manual_pending END,
	manual_by = CASE WHEN j.man THEN '' ELSE manual_by END,
	return_status = CASE WHEN j.man THEN '' ELSE return_status END
FROM (SELECT v->>8 AS id, v->>1 AS st, (v->>2)::int AS auto, (v->>3)::bigint AS nxt, (v->>4)::int AS code,
	v->>5 AS err, (v->>6)::int = 1 AS man, (v->>7)::int AS req FROM jsonb_array_elements($3::jsonb) AS e(v)) AS j
WHERE deliveries.ctid = ANY(ARRAY(SELECT ` + tidOf("(v->>0)::bigint") + ` FROM jsonb_array_elements($3::jsonb) AS e(v)))
	AND deliveries.id = j.id AND deliveries.lease_owner = $2 AND deliveries.status = 'PENDING'
	AND deliveries.manual_requests = j.req`,

	// = ANY of an array the subquery makes once: index lookups by id,
	// never a join the planner could turn into a scan of the table.
	sqlRelease: strings.Replace(sqlRelease, "id IN (SELECT value FROM json_each(?))",
		"id = ANY(ARRAY(SELECT jsonb_array_elements_text(?::jsonb)))", 1),

	// Rotations of one mode's signing key in this schema take turns; the
	// lock ends with the transaction.
	sqlLockRotation: `SELECT pg_advisory_xact_lock(hashtext('tokendesk signing key ' || current_schema() || ' ' || ?))`,

	sqlEndpoints: strings.Replace(sqlEndpoints, "SELECT value FROM json_each(?)", "SELECT jsonb_array_elements_text(?::jsonb)", 1),
	sqlHealthOf:  strings.Replace(sqlHealthOf, "SELECT value FROM json_each(?)", "SELECT jsonb_array_elements_text(?::jsonb)", 1),
	sqlLastSuccess: strings.Replace(sqlLastSuccess, "SELECT value FROM json_each(?)",
		"SELECT jsonb_array_elements_text(?::jsonb)", 1),

	sqlNextDueExcept: `SELECT next_attempt_at FROM deliveries WHERE status = 'PENDING'
	AND (lease_expires_at IS NULL OR lease_expires_at < ?) AND endpoint_id NOT IN (SELECT jsonb_array_elements_text(?::jsonb))
	ORDER BY next_attempt_at LIMIT 1`,

	// The log's rows and, in the same statement, their users' entries in
	// api_request_users (SQLite fills that table behind the log instead:
	// dialect_sqlite_request_users.go). Only rows inserted get an entry.
	sqlInsertRequests: `WITH logged AS (INSERT INTO api_requests(id, mode, api_key_id, api_key, method, path, query, user_id,
	status, error_code, error_message, duration_us, request_body, ip, created_at)
SELECT v->>0, v->>1, v->>2, v->>3, v->>4, v->>5, v->>6, v->>7,
	(v->>8)::int, v->>9, v->>10, (v->>11)::bigint, v->>12, v->>13, (v->>14)::bigint FROM jsonb_array_elements(?::jsonb) AS e(v)
ON CONFLICT (id) DO NOTHING
RETURNING user_id, created_at, id)
INSERT INTO api_request_users(user_id, created_at, request_id)
SELECT user_id, created_at, id FROM logged WHERE user_id <> '' ORDER BY user_id, created_at, id
ON CONFLICT DO NOTHING`,

	sqlInsertTokens: `INSERT INTO link_tokens(id, mode, user_id, token_hash, kid, issued_by, issued_at, expires_at)
SELECT v->>0, v->>1, v->>2, v->>3, v->>4, v->>5, (v->>6)::bigint, (v->>7)::bigint FROM jsonb_array_elements(?::jsonb) AS e(v)
WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = v->>2 AND u.mode = v->>1)
	AND (v->>8 = '' OR EXISTS (SELECT 1 FROM api_keys k WHERE k.id = v->>8
		AND k.secret_hash = v->>9 AND k.mode = v->>1 AND k.revoked_at IS NULL))
RETURNING id`,

	// Letter case is folded with lower(), which the (mode, lower(value)
	// text_pattern_ops) index serves for equality and for prefixes.
	sqlMetadataEqual:   `SELECT user_id, key, value FROM user_metadata WHERE mode = ? AND lower(value) = lower(?) LIMIT ?`,
	sqlMetadataPrefix:  `SELECT user_id, key, value FROM user_metadata WHERE mode = ? AND lower(value) LIKE lower(?) ESCAPE '\' LIMIT ?`,
	sqlUsersByMetadata: "(SELECT user_id FROM user_metadata WHERE mode = ? AND lower(value) = lower(?)) AS m JOIN users ON users.id = m.user_id",
	// PostgreSQL's planner needs no hint to read a user's few events.
	sqlEventsOfUser: "events",
}

func postgresClaim(exclude string) string {
	limit := "$5"
	if exclude != "" {
		limit = "$6"
	}
	return `UPDATE deliveries SET lease_owner = $1, lease_expires_at = $2
WHERE ctid = ANY(ARRAY(
	SELECT ctid FROM deliveries
	WHERE status = 'PENDING' AND next_attempt_at <= $3 AND (lease_expires_at IS NULL OR lease_expires_at < $4)` + exclude + `
	ORDER BY next_attempt_at
	LIMIT ` + limit + `
	FOR UPDATE SKIP LOCKED))
RETURNING id, mode, endpoint_id, event_id, attempt_count, auto_attempts, manual_pending, manual_by, return_status,
	manual_requests, next_attempt_at, (SELECT payload FROM events WHERE events.id = deliveries.event_id),
	((ctid::text::point)[0]::bigint << 16) | (ctid::text::point)[1]::bigint`
}

// tidOf is the ctid a claim returned as block<<16 | offset (an offset
// within a page is below 2^16) given back as a tid.
func tidOf(n string) string {
	return "format('(%s,%s)', " + n + " >> 16, " + n + " & 65535)::tid"
}
