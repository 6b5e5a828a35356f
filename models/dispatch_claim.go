package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"
)

const (
	// One statement leases what is due and returns what sending it takes,
	// with its event's payload (SQLite ≥ 3.35; go-sqlite3 bundles 3.45).
	// The literal 'PENDING' (not a parameter) lets SQLite read the partial
	// index deliveries_due, in next_attempt_at order; RETURNING gives the
	// rows in no set order, so scanClaims sorts them by next_attempt_at.
	// Only the columns a send and its record read are returned: each
	// column of each row is a cgo call or two.
	//
	// sqlClaim leaves out the endpoints given as a JSON array (those at
	// their cap); sqlClaimAny, for the usual case of none, skips that test,
	// which cost about 3 us a delivery (BenchmarkDispatchQueue).
	//
	// LIMIT +? rather than LIMIT ?: SQLite plans a bare bound LIMIT with
	// its value and marks the statement to be compiled again when the value
	// changes, and go-sqlite3 clears the bindings before every run, which
	// then expires such a statement each time. The claim's limit is the
	// free room and changes from round to round, so the statement (an
	// UPDATE whose triggers are compiled with it) was compiled again on
	// nearly every round: about 25 µs a delivery on loopback. The unary plus
	// keeps the value out of the plan; the limit is the same.
	sqlClaim    = claimHead + "\n\t\tAND endpoint_id NOT IN (SELECT value FROM json_each(?))" + claimTail
	sqlClaimAny = claimHead + claimTail
	claimHead   = `UPDATE deliveries SET lease_owner = ?, lease_expires_at = ?
WHERE rowid IN (SELECT rowid FROM deliveries
	WHERE status = 'PENDING' AND next_attempt_at <= ? AND (lease_expires_at IS NULL OR lease_expires_at < ?)`
	claimTail = `
	ORDER BY next_attempt_at
	LIMIT +?)
RETURNING id, mode, endpoint_id, event_id, attempt_count, auto_attempts, manual_pending, manual_by,
	return_status, manual_requests, next_attempt_at,
	(SELECT payload FROM events WHERE events.id = deliveries.event_id), rowid`
	// The endpoints of a claim's deliveries are read in one statement, given
	// as a JSON array: on PostgreSQL one a statement was a round trip each,
	// a hundred a round with deliveries for a hundred endpoints.
	sqlEndpoints = `SELECT id, mode, name, url, event_types, active, include_payload, secret, previous_secret,
	previous_secret_until, disabled_at, disabled_reason, failing_since, created_at, updated_at, deleted_at,
	rate_limit, max_in_flight
FROM webhook_endpoints WHERE id IN (SELECT value FROM json_each(?))`
)

func claimIn(ctx context.Context, st func(string) *sql.Stmt, owner string, want ClaimRequest, now time.Time, buf *claimBuffer) ([]Claim, bool, error) {
	// Endpoints already at their cap are left out by the query; the others
	// are counted here, and what one claim took past an endpoint's free
	// slots is given back in the same transaction.
	full := FullEndpoints(want.InFlight, want.PerEndpoint)
	if len(want.Exclude) > 0 {
		full = slices.Compact(slices.Sorted(slices.Values(append(full, want.Exclude...))))
	}
	until := now.Add(want.Lease)
	var rows *sql.Rows
	var err error
	if len(full) == 0 {
		rows, err = st(sqlClaimAny).QueryContext(ctx, owner, ms(until), ms(now), ms(now), want.Limit)
	} else {
		rows, err = st(sqlClaim).QueryContext(ctx, owner, ms(until), ms(now), ms(now), jsonList(full), want.Limit)
	}
	if err != nil {
		return nil, false, err
	}
	claims, err := scanClaims(rows, owner, until, buf)
	if err != nil || len(claims) == 0 {
		return nil, false, err
	}
	more := len(claims) == want.Limit
	var taken map[string]int
	if want.PerEndpoint > 0 {
		taken = map[string]int{}
	}
	endpoints, err := readEndpoints(ctx, st(sqlEndpoints), claims)
	if err != nil {
		return nil, false, err
	}
	leased := claims[:0]
	var failSt *sql.Stmt
	var release []string // given back in one statement after the loop
	for _, c := range claims {
		epID := c.Delivery.EndpointID
		if taken != nil && want.InFlight[epID]+taken[epID] >= want.PerEndpoint {
			release = append(release, c.Delivery.ID)
			continue // stays due; claimed once a slot frees
		}
		ep, ok := endpoints[epID]
		if !ok {
			return nil, false, fmt.Errorf("read endpoint %s: %w", epID, sql.ErrNoRows)
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
		if want.Admit != nil {
			a := want.Admit(ep)
			if !a.Take {
				if a.Defer.IsZero() {
					release = append(release, c.Delivery.ID)
				} else if _, err := st(sqlDefer).ExecContext(ctx, ms(a.Defer), c.Delivery.ID, owner); err != nil {
					return nil, false, err
				}
				continue
			}
		}
		if taken != nil {
			taken[epID]++
		}
		c.Endpoint = *ep
		leased = append(leased, c)
	}
	if _, err := releaseIn(ctx, st(sqlRelease), owner, release); err != nil {
		return nil, false, err
	}
	return leased, more, nil
}

// claimBuffer is where a queue's claims are scanned before they are copied
// out at their exact number: a claim's limit is the free room, often far
// more than is due, and growing a slice of Claims (most of a kilobyte each)
// as rows come allocated twice what it kept. Claims run one at a time on
// the single writer, so one buffer per queue serves them all.
type claimBuffer struct {
	claims []Claim
	due    []int64
}

func scanClaims(rows *sql.Rows, owner string, until time.Time, buf *claimBuffer) ([]Claim, error) {
	defer rows.Close()
	scanned, due := buf.claims[:0], buf.due[:0]
	defer func() {
		clear(scanned) // keeps no payloads alive until the next claim
		buf.claims, buf.due = scanned[:0], due[:0]
	}()
	for rows.Next() {
		var c Claim
		d := &c.Delivery
		var next int64
		if err := rows.Scan(&d.ID, &d.Mode, &d.EndpointID, &d.EventID, &d.AttemptCount, &d.AutoAttempts,
			&d.ManualPending, &d.ManualBy, &d.ReturnStatus, &d.ManualRequests, &next, &c.Payload, &c.rowid); err != nil {
			return nil, err
		}
		d.Status = DeliveryPending
		d.LeaseOwner, d.LeaseExpiresAt = owner, &until
		c.Number = d.AttemptCount + 1
		c.Trigger = TriggerAutomatic
		if d.ManualPending {
			c.Trigger, c.TriggeredBy = TriggerManual, d.ManualBy
		}
		scanned = append(scanned, c)
		due = append(due, next)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(scanned) == 0 {
		return nil, nil
	}
	if !slices.IsSorted(due) {
		sort.Stable(byDue{scanned, due})
	}
	return slices.Clone(scanned), nil
}

// byDue sorts claims by when they were due, keeping their order otherwise.
type byDue struct {
	claims []Claim
	due    []int64
}

func (b byDue) Len() int           { return len(b.claims) }
func (b byDue) Less(i, j int) bool { return b.due[i] < b.due[j] }
func (b byDue) Swap(i, j int) {
	b.claims[i], b.claims[j] = b.claims[j], b.claims[i]
	b.due[i], b.due[j] = b.due[j], b.due[i]
}

// readEndpoints reads the endpoints of claims, by id.
func readEndpoints(ctx context.Context, st *sql.Stmt, claims []Claim) (map[string]*WebhookEndpoint, error) {
	ids := make([]string, 0, len(claims))
	for i := range claims {
		ids = append(ids, claims[i].Delivery.EndpointID)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	rows, err := st.QueryContext(ctx, jsonList(ids))
	if err != nil {
		return nil, fmt.Errorf("read %d endpoints: %w", len(ids), err)
	}
	defer rows.Close()
	endpoints := make(map[string]*WebhookEndpoint, len(ids))
	for rows.Next() {
		ep, err := scanEndpoint(rows)
		if err != nil {
			return nil, fmt.Errorf("read endpoints: %w", err)
		}
		endpoints[ep.ID] = ep
	}
	return endpoints, rows.Err()
}

func scanEndpoint(row interface{ Scan(...any) error }) (*WebhookEndpoint, error) {
	var ep WebhookEndpoint
	var types string
	var prevUntil, disabled, failing, deleted sql.NullInt64
	var created, updated int64
	err := row.Scan(&ep.ID, &ep.Mode, &ep.Name, &ep.URL, &types, &ep.Active, &ep.IncludePayload, &ep.Secret,
		&ep.PreviousSecret, &prevUntil, &disabled, &ep.DisabledReason, &failing, &created, &updated, &deleted,
		&ep.RateLimit, &ep.MaxInFlight)
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
