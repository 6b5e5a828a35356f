package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// The dispatcher's queries serve both modes at once, so unlike everything
// else they are not scoped with ScopeMode: the rows they touch carry their
// mode and every attempt is recorded under it.

// claimSQL reads the partial index deliveries_due in order; the literal
// 'PENDING' (not a parameter) is what lets SQLite use that index.
const claimSQL = `SELECT d.id, d.mode, d.endpoint_id, d.event_id, d.event_type, d.user_id,
	d.attempt_count, d.auto_attempts, d.manual_pending, d.manual_by, d.return_status,
	d.last_status_code, d.last_error, d.created_at, d.updated_at, ev.payload
FROM deliveries d JOIN events ev ON ev.id = d.event_id
WHERE d.status = 'PENDING' AND d.next_attempt_at <= ? AND (d.lease_expires_at IS NULL OR d.lease_expires_at < ?)
ORDER BY d.next_attempt_at
LIMIT ?`

// ClaimDue leases up to limit due deliveries to owner for lease, in one write
// transaction, so two dispatchers sharing the database never hold the same
// delivery. A lease that ran out (its holder died) is taken over. The
// claimed rows' next_attempt_at moves to the lease's end: if the holder never
// reports back, that is when the delivery is due again. Deliveries whose
// endpoint can no longer receive are failed here instead of claimed.
func (s *Store) ClaimDue(ctx context.Context, owner string, limit int, lease time.Duration) ([]Claim, error) {
	if owner == "" || limit <= 0 || lease <= 0 {
		return nil, fmt.Errorf("claim due deliveries: owner, limit and lease are required")
	}
	var claims []Claim
	err := s.write(ctx, func(tx *gorm.DB) error {
		claims = claims[:0]
		now := s.nowMS()
		rows, err := tx.Raw(claimSQL, ms(now), ms(now), limit).Rows()
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c Claim
			d := &c.Delivery
			var created, updated int64
			var payload string
			if err := rows.Scan(&d.ID, &d.Mode, &d.EndpointID, &d.EventID, &d.EventType, &d.UserID,
				&d.AttemptCount, &d.AutoAttempts, &d.ManualPending, &d.ManualBy, &d.ReturnStatus,
				&d.LastStatusCode, &d.LastError, &created, &updated, &payload); err != nil {
				return err
			}
			d.Status, d.CreatedAt, d.UpdatedAt = DeliveryPending, time.UnixMilli(created).UTC(), time.UnixMilli(updated).UTC()
			c.Payload = []byte(payload)
			c.Number = d.AttemptCount + 1
			c.Trigger = TriggerAutomatic
			if d.ManualPending {
				c.Trigger, c.TriggeredBy = TriggerManual, d.ManualBy
			}
			claims = append(claims, c)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if len(claims) == 0 {
			return nil
		}

		endpoints, err := endpointsByID(tx, claims)
		if err != nil {
			return err
		}
		until := now.Add(lease)
		leased := claims[:0]
		var leasedIDs []string
		dead := map[string][]string{} // reason → delivery ids
		for _, c := range claims {
			ep, ok := endpoints[c.Delivery.EndpointID]
			if !ok || !ep.Deliverable() {
				reason := "endpoint deleted"
				if ok {
					reason = ep.undeliverableReason()
				}
				dead[reason] = append(dead[reason], c.Delivery.ID)
				continue
			}
			c.Endpoint = *ep
			c.Delivery.LeaseOwner, c.Delivery.LeaseExpiresAt, c.Delivery.NextAttemptAt = owner, &until, &until
			leased = append(leased, c)
			leasedIDs = append(leasedIDs, c.Delivery.ID)
		}
		claims = leased
		if len(leasedIDs) > 0 {
			err := tx.Exec(`UPDATE deliveries SET lease_owner = ?, lease_expires_at = ?, next_attempt_at = ?
				WHERE id IN ?`, owner, ms(until), ms(until), leasedIDs).Error
			if err != nil {
				return err
			}
		}
		for reason, ids := range dead {
			err := tx.Exec(`UPDATE deliveries SET status = 'FAILED', last_error = ?, next_attempt_at = NULL,
				completed_at = ?, updated_at = ?, manual_pending = 0, manual_by = '', return_status = ''
				WHERE id IN ?`, reason, ms(now), ms(now), ids).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim due deliveries for %s: %w", owner, err)
	}
	return claims, nil
}

func endpointsByID(tx *gorm.DB, claims []Claim) (map[string]*WebhookEndpoint, error) {
	ids := make([]string, 0, 4)
	seen := map[string]bool{}
	for _, c := range claims {
		if !seen[c.Delivery.EndpointID] {
			seen[c.Delivery.EndpointID] = true
			ids = append(ids, c.Delivery.EndpointID)
		}
	}
	var eps []WebhookEndpoint
	if err := tx.Where("id IN ?", ids).Find(&eps).Error; err != nil {
		return nil, fmt.Errorf("read endpoints: %w", err)
	}
	out := make(map[string]*WebhookEndpoint, len(eps))
	for i := range eps {
		out[eps[i].ID] = &eps[i]
	}
	return out, nil
}

// RecordAttempt records one attempt by owner; see RecordAttempts.
func (s *Store) RecordAttempt(ctx context.Context, owner string, r AttemptResult) error {
	return s.RecordAttempts(ctx, owner, []AttemptResult{r})
}

// RecordAttempts stores the attempts of several deliveries in one
// transaction (the dispatcher batches them: one commit for many sends) and
// moves each delivery on: SUCCEEDED, rescheduled, or FAILED when no try is
// left. The attempt row is always kept, since the request really went out,
// but a delivery is only changed while owner still holds its lease: after a
// takeover the new holder decides. Endpoint health follows every attempt: a
// success clears failing_since, a 410 or failing for DisableAfter disables it.
func (s *Store) RecordAttempts(ctx context.Context, owner string, rs []AttemptResult) error {
	if len(rs) == 0 {
		return nil
	}
	err := s.write(ctx, func(tx *gorm.DB) error {
		now := s.nowMS()
		health := map[string]*endpointHealth{}
		for i := range rs {
			if err := s.recordOne(tx, owner, &rs[i], now, health); err != nil {
				return fmt.Errorf("delivery %s: %w", rs[i].Attempt.DeliveryID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %d attempts for %s: %w", len(rs), owner, err)
	}
	return nil
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

func loadHealth(tx *gorm.DB, id string) (*endpointHealth, error) {
	h := &endpointHealth{id: id}
	var disabledAt, deletedAt, failing sql.NullInt64
	err := tx.Raw(`SELECT active, disabled_at, disabled_reason, deleted_at, failing_since
		FROM webhook_endpoints WHERE id = ?`, id).Row().Scan(&h.active, &disabledAt, &h.reason, &deletedAt, &failing)
	if err != nil {
		return nil, fmt.Errorf("read endpoint %s: %w", id, err)
	}
	h.disabled, h.deleted = disabledAt.Valid, deletedAt.Valid
	if failing.Valid {
		t := time.UnixMilli(failing.Int64).UTC()
		h.failingSince = &t
	}
	return h, nil
}

const insertAttemptSQL = `INSERT INTO attempts (id, delivery_id, mode, number, "trigger", triggered_by, url,
	request_headers, request_body, response_status, response_headers, response_body, duration_ms, error, started_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func (s *Store) recordOne(tx *gorm.DB, owner string, r *AttemptResult, now time.Time, health map[string]*endpointHealth) error {
	a := &r.Attempt
	var status, leaseOwner, endpointID, returnStatus string
	err := tx.Raw(`SELECT status, lease_owner, endpoint_id, return_status FROM deliveries WHERE id = ?`, a.DeliveryID).
		Row().Scan(&status, &leaseOwner, &endpointID, &returnStatus)
	if err != nil {
		return fmt.Errorf("read delivery: %w", err)
	}
	if a.ID == "" {
		a.ID = randomHex(s.Rand, 16)
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
	if err := tx.Exec(insertAttemptSQL, a.ID, a.DeliveryID, a.Mode, a.Number, a.Trigger, a.TriggeredBy, a.URL,
		reqHeaders, a.RequestBody, a.ResponseStatus, respHeaders, a.ResponseBody, a.DurationMS, a.Error,
		ms(a.StartedAt)).Error; err != nil {
		return fmt.Errorf("insert attempt: %w", err)
	}

	h := health[endpointID]
	if h == nil {
		if h, err = loadHealth(tx, endpointID); err != nil {
			return err
		}
		health[endpointID] = h
	}
	if err := s.updateHealth(tx, h, r, now); err != nil {
		return err
	}
	if leaseOwner != owner {
		return nil
	}

	lastError := a.Error
	if !r.Succeeded && lastError == "" {
		lastError = fmt.Sprintf("receiver answered HTTP %d", a.ResponseStatus)
	}
	var next any // NULL unless rescheduled
	manual := a.Trigger == TriggerManual
	switch {
	case r.Succeeded:
		status, lastError = DeliverySucceeded, ""
	case status != DeliveryPending:
		// Failed while in flight (endpoint deleted or disabled): keep the reason given then.
		return tx.Exec(`UPDATE deliveries SET attempt_count = attempt_count + 1, lease_owner = '',
			lease_expires_at = NULL, last_status_code = ?, updated_at = ? WHERE id = ?`,
			a.ResponseStatus, ms(now), a.DeliveryID).Error
	case !h.deliverable():
		status, lastError = DeliveryFailed, lastError+"; no more attempts: "+h.why()
	case manual && returnStatus != "":
		status = returnStatus
	case r.RetryAt != nil:
		status, next = DeliveryPending, ms(*r.RetryAt)
	default:
		status, lastError = DeliveryFailed, lastError+fmt.Sprintf("; gave up after attempt %d", a.Number)
	}
	auto := 1
	if manual {
		auto = 0
	}
	return tx.Exec(`UPDATE deliveries SET status = ?, attempt_count = attempt_count + 1, auto_attempts = auto_attempts + ?,
		next_attempt_at = ?, lease_owner = '', lease_expires_at = NULL, last_status_code = ?, last_error = ?,
		completed_at = CASE WHEN ? = 'PENDING' THEN NULL ELSE COALESCE(completed_at, ?) END, updated_at = ?,
		manual_pending = CASE WHEN ? THEN 0 ELSE manual_pending END,
		manual_by = CASE WHEN ? THEN '' ELSE manual_by END,
		return_status = CASE WHEN ? THEN '' ELSE return_status END
		WHERE id = ?`,
		status, auto, next, a.ResponseStatus, lastError, status, ms(now), ms(now),
		manual, manual, manual, a.DeliveryID).Error
}

// updateHealth applies one attempt's outcome to its endpoint: the endpoint
// is judged on every attempt, whoever holds the delivery.
func (s *Store) updateHealth(tx *gorm.DB, h *endpointHealth, r *AttemptResult, now time.Time) error {
	if r.Succeeded {
		if h.failingSince == nil {
			return nil
		}
		h.failingSince = nil
		return tx.Exec(`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ?`, h.id).Error
	}
	if h.disabled || h.deleted {
		return nil
	}
	limit := r.DisableAfter
	if limit <= 0 {
		limit = DefaultDisableAfter
	}
	switch {
	case r.Gone:
		h.disabled, h.reason = true, fmt.Sprintf("the receiver answered 410 Gone at %s", FormatTime(r.Attempt.StartedAt))
		return disableEndpoint(tx, h.id, h.reason, now)
	case h.failingSince == nil:
		at := r.Attempt.StartedAt
		h.failingSince = &at
		return tx.Exec(`UPDATE webhook_endpoints SET failing_since = ? WHERE id = ? AND failing_since IS NULL`,
			ms(at), h.id).Error
	case now.Sub(*h.failingSince) >= limit:
		h.disabled, h.reason = true, fmt.Sprintf("every attempt failed from %s to %s", FormatTime(*h.failingSince), FormatTime(now))
		return disableEndpoint(tx, h.id, h.reason, now)
	}
	return nil
}

func headersJSON(h map[string]string) (string, error) {
	if len(h) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return "", fmt.Errorf("encode headers: %w", err)
	}
	return string(b), nil
}

// ReleaseLeases gives back owner's leases so another dispatcher can send
// those deliveries at once (graceful shutdown). With no ids it releases every
// lease owner holds, which scans the table; the dispatcher passes its ids.
func (s *Store) ReleaseLeases(ctx context.Context, owner string, ids []string) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *gorm.DB) error {
		now := ms(s.Now())
		q := `UPDATE deliveries SET lease_owner = '', lease_expires_at = NULL,
			next_attempt_at = CASE WHEN status = 'PENDING' THEN ? ELSE next_attempt_at END
			WHERE lease_owner = ?`
		args := []any{now, owner}
		if len(ids) > 0 {
			q += ` AND id IN ?`
			args = append(args, ids)
		}
		res := tx.Exec(q, args...)
		n = res.RowsAffected
		return res.Error
	})
	if err != nil {
		return 0, fmt.Errorf("release leases of %s: %w", owner, err)
	}
	return int(n), nil
}

// pruneChunk bounds each delete so other writers wait milliseconds, not seconds.
const pruneChunk = 2000

// PruneAttempts deletes attempts started before olderThan and returns how
// many. Deliveries keep their status and counters.
func (s *Store) PruneAttempts(ctx context.Context, olderThan time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(tx *gorm.DB) error {
			res := tx.Exec(`DELETE FROM attempts WHERE id IN (
				SELECT id FROM attempts WHERE started_at < ? LIMIT ?)`, ms(olderThan), pruneChunk)
			n = res.RowsAffected
			return res.Error
		})
		if err != nil {
			return total, fmt.Errorf("prune attempts before %s: %w", FormatTime(olderThan), err)
		}
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}

// NextDueAt returns when the earliest pending delivery is due (or its lease
// ends), nil when nothing is pending. The dispatcher sleeps until then.
func (s *Store) NextDueAt(ctx context.Context) (*time.Time, error) {
	var next sql.NullInt64
	err := s.read(ctx).Raw(`SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'PENDING'`).Row().Scan(&next)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read next due delivery: %w", err)
	}
	if !next.Valid {
		return nil, nil
	}
	t := time.UnixMilli(next.Int64).UTC()
	return &t, nil
}

// DeliveryBacklog tells how many deliveries are pending, in both modes. It
// counts through the pending-only index, so it costs what is pending.
func (s *Store) DeliveryBacklog(ctx context.Context) (*Backlog, error) {
	var b Backlog
	var n int64
	err := s.read(ctx).Raw(`SELECT COUNT(*) FROM deliveries WHERE status = 'PENDING' AND next_attempt_at IS NOT NULL`).
		Row().Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("count pending deliveries: %w", err)
	}
	b.Pending = int(n)
	next, err := s.NextDueAt(ctx)
	if err != nil {
		return nil, err
	}
	b.NextDueAt = next
	return &b, nil
}
