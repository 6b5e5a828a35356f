package models

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"
)

// DispatchQueue is the dispatcher's handle on the deliveries: the same
// database as the Store, with the statements of the hot path prepared once on
// the writer. (GORM prepares a statement inside the first transaction that
// uses it, which ties it to that transaction, so every later transaction
// prepares it again; at thousands of deliveries a second that was most of
// the writer's time.) Its queries serve both modes at once, so unlike the
// rest of the store they are not scoped with ScopeMode: every row they touch
// carries its mode, and attempts are recorded under it.
type DispatchQueue struct {
	s     *Store
	w     *sql.DB
	stmts map[string]*sql.Stmt
}

// Statements of the hot path, by name.
const (
	// One statement leases what is due and returns it with its event's
	// payload (SQLite ≥ 3.35; go-sqlite3 bundles 3.45). The literal
	// 'PENDING' (not a parameter) lets SQLite read the partial index
	// deliveries_due, in next_attempt_at order; RETURNING gives the rows in
	// no set order, so claimIn sorts them by next_attempt_at.
	sqlClaim = `UPDATE deliveries SET lease_owner = ?, lease_expires_at = ?
WHERE id IN (SELECT id FROM deliveries
	WHERE status = 'PENDING' AND next_attempt_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at < ?)
		AND endpoint_id NOT IN (SELECT value FROM json_each(?))
	ORDER BY next_attempt_at
	LIMIT ?)
RETURNING id, mode, endpoint_id, event_id, event_type, user_id, attempt_count, auto_attempts, manual_pending,
	manual_by, return_status, last_status_code, last_error, manual_requests, created_at, updated_at, next_attempt_at,
	(SELECT payload FROM events WHERE events.id = deliveries.event_id)`
	sqlEndpoint = `SELECT id, mode, name, url, event_types, active, include_payload, secret, previous_secret,
	previous_secret_until, disabled_at, disabled_reason, failing_since, created_at, updated_at, deleted_at
FROM webhook_endpoints WHERE id = ?`
	sqlFailUnclaim  = `UPDATE deliveries SET status = 'FAILED', lease_owner = '', lease_expires_at = NULL, last_error = ?, next_attempt_at = NULL, completed_at = ?, updated_at = ?, manual_pending = 0, manual_by = '', return_status = '' WHERE id = ?`
	sqlReadDelivery = `SELECT status, lease_owner, endpoint_id, return_status, manual_pending, manual_requests FROM deliveries WHERE id = ?`
	sqlHealth       = `SELECT active, disabled_at, disabled_reason, deleted_at, failing_since FROM webhook_endpoints WHERE id = ?`
	sqlAttempt      = `INSERT INTO attempts (id, delivery_id, mode, number, "trigger", triggered_by, url,
	request_headers, request_body, response_status, response_headers, response_body, duration_ms, error, started_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlSettle = `UPDATE deliveries SET status = ?, attempt_count = attempt_count + 1, auto_attempts = auto_attempts + ?,
	next_attempt_at = ?, lease_owner = '', lease_expires_at = NULL, last_status_code = ?, last_error = ?,
	completed_at = CASE WHEN ? = 'PENDING' THEN NULL ELSE COALESCE(completed_at, ?) END, updated_at = ?,
	manual_pending = CASE WHEN ? THEN 0 ELSE manual_pending END,
	manual_by = CASE WHEN ? THEN '' ELSE manual_by END,
	return_status = CASE WHEN ? THEN '' ELSE return_status END
	WHERE id = ?`
	// Held: still ours, pending, and no resend asked for since the claim.
	sqlSettleHeld = sqlSettle + ` AND lease_owner = ? AND status = 'PENDING' AND manual_requests = ?`
	// A resend was asked for while the attempt was in flight: the MANUAL
	// attempt is due at once, and the outcome just recorded becomes the
	// status to go back to if it fails ('' while there are retries left).
	sqlSettleResend = `UPDATE deliveries SET status = 'PENDING', attempt_count = attempt_count + 1,
	auto_attempts = auto_attempts + ?, next_attempt_at = ?, lease_owner = '', lease_expires_at = NULL,
	last_status_code = ?, last_error = ?, return_status = ?, manual_pending = 1,
	completed_at = CASE WHEN ? = '' THEN completed_at ELSE COALESCE(completed_at, ?) END, updated_at = ?
	WHERE id = ?`
	// A delivery failed while in flight (endpoint deleted or disabled)
	// keeps the reason it was given then.
	sqlSettleFailed = `UPDATE deliveries SET attempt_count = attempt_count + 1, lease_owner = '',
	lease_expires_at = NULL, last_status_code = ?, updated_at = ? WHERE id = ?`
	sqlRelease = `UPDATE deliveries SET lease_owner = '', lease_expires_at = NULL WHERE id = ? AND lease_owner = ?`
)

// Endpoint health changes are rare; they run unprepared.
const (
	sqlClearFailing = `UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?`
	sqlStartFailing = `UPDATE webhook_endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL`
	sqlDisable      = `UPDATE webhook_endpoints SET disabled_at = ?, disabled_reason = ?, updated_at = ?
		WHERE id = ? AND disabled_at IS NULL`
	sqlFailPendingOf = `UPDATE deliveries SET status = 'FAILED', last_error = ?, next_attempt_at = NULL,
		completed_at = ?, updated_at = ?, manual_pending = 0, manual_by = '', return_status = ''
		WHERE endpoint_id = ? AND status = 'PENDING'`
)

// OpenDispatchQueue prepares the dispatcher's statements. Close it when done.
func (s *Store) OpenDispatchQueue(ctx context.Context) (*DispatchQueue, error) {
	w, err := s.W.DB()
	if err != nil {
		return nil, fmt.Errorf("open dispatch queue: %w", err)
	}
	q := &DispatchQueue{s: s, w: w, stmts: map[string]*sql.Stmt{}}
	for _, src := range []string{sqlClaim, sqlEndpoint, sqlFailUnclaim, sqlReadDelivery, sqlHealth,
		sqlAttempt, sqlSettle, sqlSettleHeld, sqlSettleResend, sqlSettleFailed, sqlRelease} {
		st, err := w.PrepareContext(ctx, src)
		if err != nil {
			q.Close()
			return nil, fmt.Errorf("open dispatch queue: prepare: %w", err)
		}
		q.stmts[src] = st
	}
	return q, nil
}

// Close releases the prepared statements.
func (q *DispatchQueue) Close() error {
	var first error
	for _, st := range q.stmts {
		if err := st.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// tx runs fn in one immediate transaction on the writer (the writer's DSN
// makes BEGIN take the write lock, so processes sharing the file queue up
// instead of deadlocking). ctx bounds the wait for the writer; the
// statements inside get a context that cannot be cancelled, because
// go-sqlite3 runs every statement under a cancellable context on a goroutine
// of its own, which here cost more than the statements themselves.
func (q *DispatchQueue) tx(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx, st func(string) *sql.Stmt) error) error {
	tx, err := q.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ctx = context.WithoutCancel(ctx)
	st := func(src string) *sql.Stmt { return tx.StmtContext(ctx, q.stmts[src]) }
	if err := fn(ctx, tx, st); err != nil {
		return err
	}
	return tx.Commit()
}

// ClaimRequest says what one claim may take.
type ClaimRequest struct {
	Limit int           // deliveries in all; 0 claims nothing
	Lease time.Duration // how long the claims are the caller's
	// PerEndpoint caps how many deliveries of one endpoint the caller holds
	// at once, counting those it holds already (InFlight, by endpoint id);
	// 0 for no cap. Deliveries over the cap are left due, untouched, for a
	// later claim. The cap is the caller's: several processes each have
	// their own.
	PerEndpoint int
	InFlight    map[string]int
}

// Exchange is the dispatcher's one transaction per round: it records the
// attempts that finished, gives back the leases of claims never started, and
// claims more as want says. Doing all three in one transaction keeps the
// single writer's work to one commit per round, however many deliveries
// move. more reports that the claim stopped at its limit, so more may be
// due right now.
func (q *DispatchQueue) Exchange(ctx context.Context, owner string, done []AttemptResult, release []string, want ClaimRequest) (claims []Claim, more bool, err error) {
	if owner == "" || (want.Limit > 0 && want.Lease <= 0) {
		return nil, false, fmt.Errorf("dispatch exchange: owner and lease are required")
	}
	if len(done) == 0 && len(release) == 0 && want.Limit <= 0 {
		return nil, false, nil
	}
	err = q.tx(ctx, func(ctx context.Context, tx *sql.Tx, st func(string) *sql.Stmt) error {
		now := q.s.nowMS()
		if len(done) > 0 {
			if err := q.record(ctx, tx, st, owner, done, now); err != nil {
				return err
			}
		}
		if len(release) > 0 {
			if _, err := releaseIn(ctx, st(sqlRelease), owner, release); err != nil {
				return err
			}
		}
		var err error
		if want.Limit > 0 {
			claims, more, err = claimIn(ctx, st, owner, want, now)
		}
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("dispatch for %s (%d done, %d released, claim %d): %w", owner, len(done), len(release), want.Limit, err)
	}
	return claims, more, nil
}

// ClaimDue leases up to limit due deliveries to owner for lease, in one write
// transaction, so two dispatchers sharing the database never hold the same
// delivery. A lease that ran out (its holder died) is taken over: the row is
// still due, since claiming leaves next_attempt_at alone (moving it would
// cost an index update per delivery). Deliveries whose endpoint can no
// longer receive are failed here instead of claimed.
func (q *DispatchQueue) ClaimDue(ctx context.Context, owner string, limit int, lease time.Duration) ([]Claim, error) {
	if limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claim due deliveries: limit and lease are required")
	}
	claims, _, err := q.Exchange(ctx, owner, nil, nil, ClaimRequest{Limit: limit, Lease: lease})
	return claims, err
}

// FullEndpoints lists the endpoints of inFlight that hold perEndpoint
// deliveries or more, as the JSON array the claim query excludes.
func FullEndpoints(inFlight map[string]int, perEndpoint int) []string {
	var full []string
	if perEndpoint <= 0 {
		return nil
	}
	for id, n := range inFlight {
		if n >= perEndpoint {
			full = append(full, id)
		}
	}
	slices.Sort(full)
	return full
}

func jsonList(ids []string) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids)
	return string(b)
}

func claimIn(ctx context.Context, st func(string) *sql.Stmt, owner string, want ClaimRequest, now time.Time) ([]Claim, bool, error) {
	// Endpoints already at their cap are left out by the query; the others
	// are counted here, and what one claim took past an endpoint's free
	// slots is given back in the same transaction.
	full := FullEndpoints(want.InFlight, want.PerEndpoint)
	until := now.Add(want.Lease)
	claims, err := scanClaims(ctx, st(sqlClaim), owner, until, now, want.Limit, jsonList(full))
	if err != nil || len(claims) == 0 {
		return nil, false, err
	}
	more := len(claims) == want.Limit
	var taken map[string]int
	if want.PerEndpoint > 0 {
		taken = map[string]int{}
	}
	endpoints := map[string]*WebhookEndpoint{}
	leased := claims[:0]
	var failSt, releaseSt *sql.Stmt
	for _, c := range claims {
		epID := c.Delivery.EndpointID
		if taken != nil && want.InFlight[epID]+taken[epID] >= want.PerEndpoint {
			if releaseSt == nil {
				releaseSt = st(sqlRelease)
			}
			if _, err := releaseSt.ExecContext(ctx, c.Delivery.ID, owner); err != nil {
				return nil, false, err
			}
			continue // stays due; claimed once a slot frees
		}
		ep, ok := endpoints[epID]
		if !ok {
			if ep, err = scanEndpoint(st(sqlEndpoint).QueryRowContext(ctx, epID)); err != nil {
				return nil, false, fmt.Errorf("read endpoint %s: %w", epID, err)
			}
			endpoints[epID] = ep
		}
		if !ep.Deliverable() {
			if failSt == nil {
				failSt = st(sqlFailUnclaim)
			}
			if _, err := failSt.ExecContext(ctx, ep.undeliverableReason(), ms(now), ms(now), c.Delivery.ID); err != nil {
				return nil, false, err
			}
			continue
		}
		if taken != nil {
			taken[epID]++
		}
		c.Endpoint = *ep
		leased = append(leased, c)
	}
	return leased, more, nil
}

func scanClaims(ctx context.Context, st *sql.Stmt, owner string, until, now time.Time, limit int, exclude string) ([]Claim, error) {
	rows, err := st.QueryContext(ctx, owner, ms(until), ms(now), ms(now), exclude, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	claims := make([]Claim, 0, limit)
	due := make(map[string]int64, limit)
	for rows.Next() {
		var c Claim
		d := &c.Delivery
		var created, updated, next int64
		var payload string
		if err := rows.Scan(&d.ID, &d.Mode, &d.EndpointID, &d.EventID, &d.EventType, &d.UserID,
			&d.AttemptCount, &d.AutoAttempts, &d.ManualPending, &d.ManualBy, &d.ReturnStatus,
			&d.LastStatusCode, &d.LastError, &d.ManualRequests, &created, &updated, &next, &payload); err != nil {
			return nil, err
		}
		d.Status, d.CreatedAt, d.UpdatedAt = DeliveryPending, time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
		d.LeaseOwner, d.LeaseExpiresAt = owner, &until
		due[d.ID] = next
		c.Payload = []byte(payload)
		c.Number = d.AttemptCount + 1
		c.Trigger = TriggerAutomatic
		if d.ManualPending {
			c.Trigger, c.TriggeredBy = TriggerManual, d.ManualBy
		}
		claims = append(claims, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortStableFunc(claims, func(a, b Claim) int { return cmp.Compare(due[a.Delivery.ID], due[b.Delivery.ID]) })
	return claims, nil
}

func scanEndpoint(row *sql.Row) (*WebhookEndpoint, error) {
	var ep WebhookEndpoint
	var types string
	var prevUntil, disabled, failing, deleted sql.NullInt64
	var created, updated int64
	err := row.Scan(&ep.ID, &ep.Mode, &ep.Name, &ep.URL, &types, &ep.Active, &ep.IncludePayload, &ep.Secret,
		&ep.PreviousSecret, &prevUntil, &disabled, &ep.DisabledReason, &failing, &created, &updated, &deleted)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(types), &ep.EventTypes); err != nil {
		return nil, fmt.Errorf("event types of %s: %w", ep.ID, err)
	}
	ep.PreviousSecretUntil, ep.DisabledAt, ep.FailingSince, ep.DeletedAt =
		msTime(prevUntil), msTime(disabled), msTime(failing), msTime(deleted)
	ep.CreatedAt, ep.UpdatedAt = time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
	return &ep, nil
}

func msTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.UnixMilli(v.Int64).UTC()
	return &t
}

// RecordAttempt records one attempt by owner; see RecordAttempts.
func (q *DispatchQueue) RecordAttempt(ctx context.Context, owner string, r AttemptResult) error {
	return q.RecordAttempts(ctx, owner, []AttemptResult{r})
}

// RecordAttempts stores the attempts of several deliveries in one
// transaction and moves each delivery on: SUCCEEDED, rescheduled, or FAILED
// when no try is left. The attempt row is always kept, since the request
// really went out, but a delivery is only changed while owner still holds
// its lease: after a takeover the new holder decides. Endpoint health
// follows every attempt: a success clears failing_since; a 410, or failing
// for DisableAfter, disables the endpoint and fails what waits for it.
func (q *DispatchQueue) RecordAttempts(ctx context.Context, owner string, rs []AttemptResult) error {
	_, _, err := q.Exchange(ctx, owner, rs, nil, ClaimRequest{})
	return err
}

func (q *DispatchQueue) record(ctx context.Context, tx *sql.Tx, st func(string) *sql.Stmt, owner string, rs []AttemptResult, now time.Time) error {
	health := map[string]*endpointHealth{}
	stmts := recordStmts{read: st(sqlReadDelivery), insert: st(sqlAttempt), settle: st(sqlSettle),
		settleHeld: st(sqlSettleHeld), settleResend: st(sqlSettleResend), settleFailed: st(sqlSettleFailed),
		health: st(sqlHealth)}
	for i := range rs {
		if err := q.recordOne(ctx, tx, stmts, owner, &rs[i], now, health); err != nil {
			return fmt.Errorf("record attempt of delivery %s: %w", rs[i].Attempt.DeliveryID, err)
		}
	}
	return nil
}

type recordStmts struct {
	read, insert, settle, settleHeld, settleResend, settleFailed, health *sql.Stmt
}

// endpointHealth is the part of an endpoint that attempts change.
type endpointHealth struct {
	id           string
	active       bool
	disabled     bool
	deleted      bool
	reason       string
	failingSince *time.Time
}

func (h *endpointHealth) deliverable() bool { return h.active && !h.disabled && !h.deleted }

func (h *endpointHealth) why() string {
	switch {
	case h.deleted:
		return "endpoint deleted"
	case h.disabled:
		return "endpoint disabled: " + h.reason
	}
	return "endpoint set inactive"
}

func (q *DispatchQueue) recordOne(ctx context.Context, tx *sql.Tx, st recordStmts, owner string, r *AttemptResult, now time.Time, health map[string]*endpointHealth) error {
	a := &r.Attempt
	// What the delivery looks like now: taken from the claim when there is
	// one (the common case: still PENDING and held by owner, which the
	// settling update checks), read from the row otherwise.
	var status, leaseOwner, endpointID, returnStatus string
	var manualPending bool
	var manualRequests int
	read := func() error {
		err := st.read.QueryRowContext(ctx, a.DeliveryID).Scan(&status, &leaseOwner, &endpointID, &returnStatus,
			&manualPending, &manualRequests)
		if err != nil {
			return fmt.Errorf("read delivery: %w", err)
		}
		return nil
	}
	held := r.Claim != nil
	asked := false // a resend arrived while the attempt was in flight
	if held {
		status, leaseOwner = DeliveryPending, owner
		endpointID, returnStatus = r.Claim.Delivery.EndpointID, r.Claim.Delivery.ReturnStatus
		manualPending, manualRequests = r.Claim.Delivery.ManualPending, r.Claim.Delivery.ManualRequests
	} else if err := read(); err != nil {
		return err
	}
	if a.ID == "" {
		a.ID = orderedID(q.s.Rand, a.StartedAt)
	}
	if a.Trigger == "" {
		a.Trigger = TriggerAutomatic
	}
	reqHeaders, err := headersJSON(a.RequestHeaders)
	if err != nil {
		return err
	}
	respHeaders, err := headersJSON(a.ResponseHeaders)
	if err != nil {
		return err
	}
	if _, err := st.insert.ExecContext(ctx, a.ID, a.DeliveryID, a.Mode, a.Number, a.Trigger, a.TriggeredBy, a.URL,
		reqHeaders, a.RequestBody, a.ResponseStatus, respHeaders, a.ResponseBody, a.DurationMS, a.Error,
		ms(a.StartedAt)); err != nil {
		return fmt.Errorf("insert attempt: %w", err)
	}

	h := health[endpointID]
	if h == nil {
		if h, err = readHealth(ctx, st.health, endpointID); err != nil {
			return err
		}
		health[endpointID] = h
	}
	if err := updateHealth(ctx, tx, h, r, now); err != nil {
		return err
	}

	for {
		if leaseOwner != owner {
			return nil // taken over: the attempt is logged, the new holder decides
		}
		s := settlement(r, status, returnStatus, h)
		if s.keepStatus {
			_, err := st.settleFailed.ExecContext(ctx, a.ResponseStatus, ms(now), a.DeliveryID)
			return err
		}
		if !held && status == DeliveryPending && h.deliverable() && (asked || resendPending(a, manualPending)) {
			back := s.status
			if back == DeliveryPending {
				back = "" // retries left: a failed resend carries on with them
			}
			_, err := st.settleResend.ExecContext(ctx, s.auto, ms(now), a.ResponseStatus, s.lastError, back,
				back, ms(now), ms(now), a.DeliveryID)
			return err
		}
		args := []any{s.status, s.auto, s.next, a.ResponseStatus, s.lastError, s.status, ms(now), ms(now),
			s.manual, s.manual, s.manual, a.DeliveryID}
		if !held {
			_, err := st.settle.ExecContext(ctx, args...)
			return err
		}
		res, err := st.settleHeld.ExecContext(ctx, append(args, owner, manualRequests)...)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		// The row moved on since the claim (endpoint deleted or disabled,
		// lease lost, a resend asked for): decide again from what it is now.
		held = false
		claimed := manualRequests
		if err := read(); err != nil {
			return err
		}
		if manualRequests != claimed {
			asked = true
		}
	}
}

// resendPending reports whether an automatic attempt finds a manual one
// asked for: a claim with one pending would have been manual, so it came
// while the attempt was in flight. (A manual attempt in flight is told
// apart only by the request count moving since its claim.)
func resendPending(a *Attempt, manualPending bool) bool {
	return a.Trigger == TriggerAutomatic && manualPending
}

// settled is what an attempt's outcome does to its delivery.
type settled struct {
	status     string
	auto       int // 1 when the attempt counts against the retry schedule
	next       any // next_attempt_at: NULL unless rescheduled
	lastError  string
	manual     bool
	keepStatus bool // the delivery was already given up while in flight
}

func settlement(r *AttemptResult, status, returnStatus string, h *endpointHealth) settled {
	a := &r.Attempt
	s := settled{auto: 1, lastError: a.Error, manual: a.Trigger == TriggerManual}
	if s.manual {
		s.auto = 0
	}
	if !r.Succeeded && s.lastError == "" {
		s.lastError = fmt.Sprintf("receiver answered HTTP %d", a.ResponseStatus)
	}
	switch {
	case r.Succeeded:
		s.status, s.lastError = DeliverySucceeded, ""
	case status != DeliveryPending:
		s.keepStatus = true
	case !h.deliverable():
		s.status, s.lastError = DeliveryFailed, s.lastError+"; no more attempts: "+h.why()
	case s.manual && returnStatus != "":
		s.status = returnStatus
	case r.RetryAt != nil:
		s.status, s.next = DeliveryPending, ms(*r.RetryAt)
	default:
		s.status, s.lastError = DeliveryFailed, s.lastError+fmt.Sprintf("; gave up after attempt %d", a.Number)
	}
	return s
}

func readHealth(ctx context.Context, st *sql.Stmt, id string) (*endpointHealth, error) {
	h := &endpointHealth{id: id}
	var disabledAt, deletedAt, failing sql.NullInt64
	err := st.QueryRowContext(ctx, id).Scan(&h.active, &disabledAt, &h.reason, &deletedAt, &failing)
	if err != nil {
		return nil, fmt.Errorf("read endpoint %s: %w", id, err)
	}
	h.disabled, h.deleted, h.failingSince = disabledAt.Valid, deletedAt.Valid, msTime(failing)
	return h, nil
}

// updateHealth applies one attempt's outcome to its endpoint: the endpoint
// is judged on every attempt, whoever holds the delivery.
func updateHealth(ctx context.Context, tx *sql.Tx, h *endpointHealth, r *AttemptResult, now time.Time) error {
	if r.Succeeded {
		if h.failingSince == nil {
			return nil
		}
		h.failingSince = nil
		_, err := tx.ExecContext(ctx, sqlClearFailing, h.id)
		return err
	}
	if h.disabled || h.deleted {
		return nil
	}
	limit := r.DisableAfter
	if limit <= 0 {
		limit = DefaultDisableAfter
	}
	var reason string
	switch {
	case r.Gone:
		reason = fmt.Sprintf("the receiver answered 410 Gone at %s", FormatTime(r.Attempt.StartedAt))
	case h.failingSince == nil:
		at := r.Attempt.StartedAt
		h.failingSince = &at
		_, err := tx.ExecContext(ctx, sqlStartFailing, ms(at), h.id)
		return err
	case now.Sub(*h.failingSince) >= limit:
		reason = fmt.Sprintf("every attempt failed from %s to %s", FormatTime(*h.failingSince), FormatTime(now))
	default:
		return nil
	}
	h.disabled, h.reason = true, reason
	if _, err := tx.ExecContext(ctx, sqlDisable, ms(now), reason, ms(now), h.id); err != nil {
		return fmt.Errorf("disable webhook endpoint %s: %w", h.id, err)
	}
	if _, err := tx.ExecContext(ctx, sqlFailPendingOf, "endpoint disabled: "+reason, ms(now), ms(now), h.id); err != nil {
		return fmt.Errorf("fail pending deliveries of %s: %w", h.id, err)
	}
	return nil
}

// headersJSON encodes headers as a JSON object with sorted keys, the way
// encoding/json would, without its reflection: it runs twice per attempt.
func headersJSON(h map[string]string) (string, error) {
	if len(h) == 0 {
		return "{}", nil
	}
	var stack [16]string
	keys := stack[:0]
	size := 2
	for k, v := range h {
		keys = append(keys, k)
		size += len(k) + len(v) + 6
	}
	slices.Sort(keys)
	b := make([]byte, 0, size)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, h[k])
	}
	return string(append(b, '}')), nil
}

func appendJSONString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\\ufffd"...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// ReleaseLeases gives back owner's leases on ids so another dispatcher can
// send those deliveries at once (graceful shutdown).
func (q *DispatchQueue) ReleaseLeases(ctx context.Context, owner string, ids []string) (int, error) {
	n := 0
	err := q.tx(ctx, func(ctx context.Context, tx *sql.Tx, st func(string) *sql.Stmt) (err error) {
		n, err = releaseIn(ctx, st(sqlRelease), owner, ids)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("release leases of %s: %w", owner, err)
	}
	return n, nil
}

func releaseIn(ctx context.Context, st *sql.Stmt, owner string, ids []string) (int, error) {
	n := 0
	for _, id := range ids {
		res, err := st.ExecContext(ctx, id, owner)
		if err != nil {
			return n, err
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	return n, nil
}

// withQueue runs fn on a short-lived queue, for callers outside the
// dispatcher (tests, tools) that do not keep one open.
func (s *Store) withQueue(ctx context.Context, fn func(q *DispatchQueue) error) error {
	q, err := s.OpenDispatchQueue(ctx)
	if err != nil {
		return err
	}
	defer q.Close()
	return fn(q)
}
