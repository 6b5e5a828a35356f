package models

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// DispatchQueue is the dispatcher's handle on the deliveries: the same
// database as the Store, with the statements of the hot path prepared once on
// the writer. (They were prepared here when GORM prepared a statement again
// in every transaction; the writer's statement cache, dsn's
// _stmt_cache_size, now keeps the store's other statements prepared too.)
// Its queries serve both modes at once, so unlike the
// rest of the store they are not scoped with ScopeMode: every row they touch
// carries its mode, and attempts are recorded under it.
type DispatchQueue struct {
	s      *Store
	w      *sql.DB
	stmts  map[string]*sql.Stmt
	claims claimBuffer
}

// Statements of the hot path, by name (the others are with the code that
// runs them: dispatch_claim.go, dispatch_record.go).
const (
	sqlFailUnclaim = `UPDATE deliveries SET status = 'FAILED', lease_owner = '', lease_expires_at = NULL, last_error = ?, next_attempt_at = NULL, completed_at = ?, updated_at = ?, manual_pending = FALSE, manual_by = '', return_status = '' WHERE id = ?`
	// sqlRelease gives back the leases of a JSON array of ids in one
	// statement: a claim can take a few hundred rows of one endpoint's
	// backlog and keep only its free slots (see claimIn); one statement a
	// row was a round trip each on PostgreSQL, and a loaded server made
	// such a claim take a second.
	sqlRelease = `UPDATE deliveries SET lease_owner = '', lease_expires_at = NULL
WHERE id IN (SELECT value FROM json_each(?)) AND lease_owner = ?`
	sqlDefer = `UPDATE deliveries SET lease_owner = '', lease_expires_at = NULL, next_attempt_at = ? WHERE id = ? AND lease_owner = ?`
)

// OpenDispatchQueue prepares the dispatcher's statements. Close it when done.
func (s *Store) OpenDispatchQueue(ctx context.Context) (*DispatchQueue, error) {
	w, err := s.W.DB()
	if err != nil {
		return nil, fmt.Errorf("open dispatch queue: %w", err)
	}
	q := &DispatchQueue{s: s, w: w, stmts: map[string]*sql.Stmt{}}
	for _, src := range []string{sqlClaim, sqlClaimAny, sqlEndpoints, sqlFailUnclaim, sqlRelease, sqlDefer, sqlInsertAttempt,
		sqlSettleBatch, sqlReadDelivery, sqlHealth, sqlHealthOf, sqlSettle, sqlSettleResend, sqlSettleFailed, sqlLastSuccess,
		sqlClearFailing, sqlStartFailing, sqlDisable, sqlFailPendingOf} {
		st, err := w.PrepareContext(ctx, s.d.statement(src))
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
	defer q.s.observeWrite("dispatch", time.Now())
	q.s.holdWAL() // the WAL's bound holds for the dispatcher's writes too
	tx, err := q.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ctx = context.WithoutCancel(ctx)
	if err := q.s.d.queueTx(ctx, tx); err != nil {
		return err
	}
	st := func(src string) *sql.Stmt { return tx.StmtContext(ctx, q.stmts[src]) }
	if err := fn(ctx, tx, st); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	q.s.commits.Add(1) // the checkpoint loop's idle test counts these writes too
	return nil
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
	// Exclude lists endpoints whose deliveries are left alone this time
	// (the caller's: at their own cap, paused, out of rate), sorted.
	Exclude []string
	// Admit, when set, decides for each delivery claimed, after its
	// endpoint is read, whether the caller takes it; one it does not take
	// is given back in the same transaction, due as it was or deferred.
	Admit func(ep *WebhookEndpoint) Admission
}

// Admission is what a claim's Admit decides for one delivery.
type Admission struct {
	Take bool
	// Defer, when set on a delivery not taken, moves its next attempt to
	// then (a rate limit's next free slot): the work stays in the database,
	// out of the due range until it may go.
	Defer time.Time
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
			claims, more, err = claimIn(ctx, st, owner, want, now, &q.claims)
			if err == nil {
				err = q.s.openClaimSecrets(claims)
			}
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
	if len(ids) == 0 {
		return 0, nil
	}
	res, err := st.ExecContext(ctx, jsonList(ids), owner)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
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
