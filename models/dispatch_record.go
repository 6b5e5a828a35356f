package models

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	sqlInsertAttempt = `INSERT INTO attempts (id, delivery_id, mode, number, "trigger", triggered_by, url,
	request_headers, request_body, body_is_payload, response_status, response_headers, response_body, duration_ms,
	error, started_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlAttemptRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)` // one more row of sqlInsertAttempt
	// Every held delivery of a round settled in one statement
	// (appendSettleJSON), each only if it is still ours, pending, and no
	// resend was asked for since the claim. Rows are found by the rowid
	// the claim returned, not by id: one index look-up less per delivery.
	// When fewer rows changed than were sent, the rest are decided one by
	// one (settleMoved). The owner is compared as +?2: a bare "column = ?"
	// that no index serves makes SQLite plan with the value and expire the
	// statement on every run through go-sqlite3, which clears the bindings
	// each time (see claimTail); it was compiled again every round.
	sqlSettleBatch = `UPDATE deliveries SET status = j.st, attempt_count = attempt_count + 1,
	auto_attempts = auto_attempts + j.auto, next_attempt_at = j.nxt, lease_owner = '', lease_expires_at = NULL,
	last_status_code = j.code, last_error = j.err,
	completed_at = CASE WHEN j.st = 'PENDING' THEN NULL ELSE COALESCE(completed_at, ?1) END, updated_at = ?1,
	manual_pending = CASE WHEN j.man THEN FALSE ELSE manual_pending END,
	manual_by = CASE WHEN j.man THEN '' ELSE manual_by END,
	return_status = CASE WHEN j.man THEN '' ELSE return_status END
FROM (SELECT value->>0 AS rid, value->>1 AS st, value->>2 AS auto, value->>3 AS nxt, value->>4 AS code,
	value->>5 AS err, value->>6 AS man, value->>7 AS req FROM jsonb_each(?3)) AS j
WHERE deliveries.rowid = j.rid AND deliveries.lease_owner = +?2 AND deliveries.status = 'PENDING'
	AND deliveries.manual_requests = j.req`
	sqlReadDelivery = `SELECT status, lease_owner, endpoint_id, return_status, manual_pending, manual_requests FROM deliveries WHERE id = ?`
	sqlHealth       = `SELECT active, disabled_at, disabled_reason, deleted_at, failing_since FROM webhook_endpoints WHERE id = ?`
	sqlSettle       = `UPDATE deliveries SET status = ?, attempt_count = attempt_count + 1, auto_attempts = auto_attempts + ?,
	next_attempt_at = ?, lease_owner = '', lease_expires_at = NULL, last_status_code = ?, last_error = ?,
	completed_at = CASE WHEN ? = 'PENDING' THEN NULL ELSE COALESCE(completed_at, ?) END, updated_at = ?,
	manual_pending = CASE WHEN ? THEN FALSE ELSE manual_pending END,
	manual_by = CASE WHEN ? THEN '' ELSE manual_by END,
	return_status = CASE WHEN ? THEN '' ELSE return_status END
	WHERE id = ?`
	// A resend was asked for while the attempt was in flight: the MANUAL
	// attempt is due at once, and the outcome just recorded becomes the
	// status to go back to if it fails ('' while there are retries left).
	sqlSettleResend = `UPDATE deliveries SET status = 'PENDING', attempt_count = attempt_count + 1,
	auto_attempts = auto_attempts + ?, next_attempt_at = ?, lease_owner = '', lease_expires_at = NULL,
	last_status_code = ?, last_error = ?, return_status = ?, manual_pending = TRUE,
	completed_at = CASE WHEN ? = '' THEN completed_at ELSE COALESCE(completed_at, ?) END, updated_at = ?
	WHERE id = ?`
	// A delivery failed while in flight (endpoint deleted or disabled)
	// keeps the reason it was given then.
	sqlSettleFailed = `UPDATE deliveries SET attempt_count = attempt_count + 1, lease_owner = '',
	lease_expires_at = NULL, last_status_code = ?, updated_at = ? WHERE id = ?`
)

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

// recorder records one round's attempts inside the exchange's transaction.
type recorder struct {
	ctx    context.Context
	tx     *sql.Tx
	st     func(string) *sql.Stmt
	owner  string
	now    time.Time
	health map[string]*endpointHealth

	// The held deliveries whose settlement waits for the next flush, in
	// order, and their JSON rows.
	held  []*AttemptResult
	ids   map[string]bool
	batch []byte
}

// record inserts every attempt, then walks the outcomes in order: each
// judges its endpoint's health, and a delivery still held from its claim
// (the common case) joins the batch settled by one statement. The batch is
// flushed before anything that could change what it would do: a delivery
// not held, the same delivery twice, or an endpoint being disabled.
func (q *DispatchQueue) record(ctx context.Context, tx *sql.Tx, st func(string) *sql.Stmt, owner string, rs []AttemptResult, now time.Time) error {
	if err := q.insertAttempts(ctx, tx, st(sqlInsertAttempt), rs); err != nil {
		return err
	}
	rec := &recorder{ctx: ctx, tx: tx, st: st, owner: owner, now: now, health: map[string]*endpointHealth{},
		ids: map[string]bool{}, batch: make([]byte, 0, 128*len(rs))}
	var endpoints []string
	for i := range rs {
		if c := rs[i].Claim; c != nil {
			endpoints = append(endpoints, c.Delivery.EndpointID)
		}
	}
	slices.Sort(endpoints)
	if endpoints = slices.Compact(endpoints); len(endpoints) > 0 {
		if err := readHealthOf(ctx, st(sqlHealthOf), endpoints, rec.health); err != nil {
			return err
		}
	}
	for i := range rs {
		r := &rs[i]
		if r.Claim == nil || r.Claim.rowid == 0 || rec.ids[r.Attempt.DeliveryID] {
			if err := rec.flush(); err != nil {
				return err
			}
			if err := rec.settleAlone(r); err != nil {
				return fmt.Errorf("record attempt of delivery %s: %w", r.Attempt.DeliveryID, err)
			}
			continue
		}
		h, err := rec.judge(r, r.Claim.Delivery.EndpointID)
		if err != nil {
			return err
		}
		rec.add(r, settlement(r, DeliveryPending, r.Claim.Delivery.ReturnStatus, h))
	}
	if err := rec.flush(); err != nil {
		return err
	}
	var succeeded []string
	for id, h := range rec.health {
		if h.succeeded {
			succeeded = append(succeeded, id)
		}
	}
	if len(succeeded) == 0 {
		return nil
	}
	slices.Sort(succeeded)
	if _, err := st(sqlLastSuccess).ExecContext(ctx, ms(now), jsonList(succeeded)); err != nil {
		return fmt.Errorf("note last success of %d endpoints: %w", len(succeeded), err)
	}
	return nil
}

// attemptsPerInsert bounds one insert's rows: 16 parameters each, under
// both databases' limits.
const attemptsPerInsert = 256

// insertAttempts writes every attempt of the round, many rows per
// statement: on PostgreSQL each statement is a round trip.
func (q *DispatchQueue) insertAttempts(ctx context.Context, tx *sql.Tx, st *sql.Stmt, rs []AttemptResult) error {
	var scratch []byte
	args := make([]any, 0, 16*min(len(rs), attemptsPerInsert))
	flush := func(rows int) error {
		if rows == 0 {
			return nil
		}
		var err error
		if rows == 1 {
			_, err = st.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, q.s.d.statement(sqlInsertAttempt+strings.Repeat(", "+sqlAttemptRow, rows-1)), args...)
		}
		args = args[:0]
		if err != nil {
			return fmt.Errorf("insert %d attempts: %w", rows, err)
		}
		return nil
	}
	rows := 0
	for i := range rs {
		a := &rs[i].Attempt
		if a.ID == "" {
			a.ID = orderedID(q.s.Rand, a.StartedAt)
		}
		if a.Trigger == "" {
			a.Trigger = TriggerAutomatic
		}
		// The body sent is the event's payload byte for byte; it is stored
		// once, with the event (see schemaAttemptBodyOnce).
		body := a.RequestBody
		if c := rs[i].Claim; c != nil && body == string(c.Payload) {
			body, a.BodyIsPayload = "", true
		}
		scratch = appendHeadersJSON(scratch[:0], a.RequestHeaders)
		n := len(scratch)
		scratch = appendHeadersJSON(scratch, a.ResponseHeaders)
		args = append(args, a.ID, a.DeliveryID, a.Mode, a.Number, a.Trigger, a.TriggeredBy, a.URL,
			string(scratch[:n]), body, a.BodyIsPayload, a.ResponseStatus, string(scratch[n:]), storableText(a.ResponseBody),
			a.DurationMS, storableText(a.Error), ms(a.StartedAt))
		if rows++; rows == attemptsPerInsert {
			if err := flush(rows); err != nil {
				return err
			}
			rows = 0
		}
	}
	return flush(rows)
}

// judge applies r's outcome to the health of endpoint id and returns it.
func (rec *recorder) judge(r *AttemptResult, id string) (*endpointHealth, error) {
	h := rec.health[id]
	if h == nil {
		var err error
		if h, err = readHealth(rec.ctx, rec.st(sqlHealth), id); err != nil {
			return nil, err
		}
		rec.health[id] = h
	}
	if err := updateHealth(rec.ctx, rec.st, h, r, rec.now, rec.flush); err != nil {
		return nil, err
	}
	return h, nil
}

func (rec *recorder) add(r *AttemptResult, s settled) {
	if len(rec.held) == 0 {
		rec.batch = append(rec.batch[:0], '[')
	} else {
		rec.batch = append(rec.batch, ',')
	}
	rec.batch = appendSettleJSON(rec.batch, r.Claim.rowid, &s, r.Attempt.ResponseStatus, r.Claim.Delivery.ManualRequests, r.Claim.Delivery.ID)
	rec.held = append(rec.held, r)
	rec.ids[r.Attempt.DeliveryID] = true
}

// flush settles the batch. When some row did not change, it moved on since
// its claim (endpoint deleted or disabled, lease lost, a resend asked for):
// every held delivery is then read back and decided again from what it is
// now, which leaves those the statement settled alone (no longer ours).
func (rec *recorder) flush() error {
	if len(rec.held) == 0 {
		return nil
	}
	held := rec.held
	rec.held = nil
	clear(rec.ids)
	res, err := rec.st(sqlSettleBatch).ExecContext(rec.ctx, ms(rec.now), rec.owner, string(append(rec.batch, ']')))
	if err != nil {
		return fmt.Errorf("settle %d deliveries: %w", len(held), err)
	}
	if n, err := res.RowsAffected(); err == nil && n == int64(len(held)) {
		return nil
	}
	for _, r := range held {
		if err := rec.settleMoved(r); err != nil {
			return fmt.Errorf("record attempt of delivery %s: %w", r.Attempt.DeliveryID, err)
		}
	}
	return nil
}

// deliveryNow is a delivery as settling reads it back.
type deliveryNow struct {
	status, leaseOwner, endpointID, returnStatus string
	manualPending                                bool
	manualRequests                               int
}

func (rec *recorder) read(id string) (*deliveryNow, error) {
	var d deliveryNow
	err := rec.st(sqlReadDelivery).QueryRowContext(rec.ctx, id).Scan(&d.status, &d.leaseOwner, &d.endpointID,
		&d.returnStatus, &d.manualPending, &d.manualRequests)
	if err != nil {
		return nil, fmt.Errorf("read delivery: %w", err)
	}
	return &d, nil
}

// settleAlone records the outcome of an attempt made without a claim at
// hand: its delivery is read first, and its endpoint judged.
func (rec *recorder) settleAlone(r *AttemptResult) error {
	d, err := rec.read(r.Attempt.DeliveryID)
	if err != nil {
		return err
	}
	h, err := rec.judge(r, d.endpointID)
	if err != nil {
		return err
	}
	return rec.settleNow(r, d, h, false)
}

// settleMoved decides again for a held delivery the batch did not settle;
// its endpoint was judged already.
func (rec *recorder) settleMoved(r *AttemptResult) error {
	d, err := rec.read(r.Attempt.DeliveryID)
	if err != nil {
		return err
	}
	asked := d.manualRequests != r.Claim.Delivery.ManualRequests
	return rec.settleNow(r, d, rec.health[r.Claim.Delivery.EndpointID], asked)
}

// settleNow moves delivery d on from attempt r, given what it is now. asked
// says a resend was asked for while the attempt was in flight.
func (rec *recorder) settleNow(r *AttemptResult, d *deliveryNow, h *endpointHealth, asked bool) error {
	a := &r.Attempt
	if d.leaseOwner != rec.owner {
		return nil // taken over: the attempt is logged, the new holder decides
	}
	s := settlement(r, d.status, d.returnStatus, h)
	now := ms(rec.now)
	if s.keepStatus {
		_, err := rec.st(sqlSettleFailed).ExecContext(rec.ctx, a.ResponseStatus, now, a.DeliveryID)
		return err
	}
	if d.status == DeliveryPending && h.deliverable() && (asked || resendPending(a, d.manualPending)) {
		back := s.status
		if back == DeliveryPending {
			back = "" // retries left: a failed resend carries on with them
		}
		_, err := rec.st(sqlSettleResend).ExecContext(rec.ctx, s.auto, now, a.ResponseStatus, s.lastError, back,
			back, now, now, a.DeliveryID)
		return err
	}
	_, err := rec.st(sqlSettle).ExecContext(rec.ctx, s.status, s.auto, s.next, a.ResponseStatus, s.lastError,
		s.status, now, now, s.manual, s.manual, s.manual, a.DeliveryID)
	return err
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

// storableText is what a receiver sent, fit for a text column in either
// database: PostgreSQL refuses NUL and invalid UTF-8 in text, which a hostile
// or binary answer holds, and the attempt must still be recorded. Both
// become U+FFFD, as a browser shows them.
func storableText(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
