package models

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Retention says how long each kind of record is kept; 0 keeps it forever.
type Retention struct {
	Tokens     time.Duration // link tokens, from their expiry
	Sessions   time.Duration // console sessions, from their end
	Attempts   time.Duration // webhook attempts, from their start
	Deliveries time.Duration // finished deliveries (and their attempts), from their creation
	Events     time.Duration // events no delivery refers to any more, from their creation
	Requests   time.Duration // the API request log's entries, from the request
}

const day = 24 * time.Hour

// DefaultRetention keeps what support needs to answer "what happened to
// this user's webhook last month": attempts and expired tokens 30 days,
// deliveries and events 90 days, ended sessions a week, API requests two
// weeks (enough for a ticket; their bodies are kept, redacted).
func DefaultRetention() Retention {
	return Retention{Tokens: 30 * day, Sessions: EndedSessionsKept, Attempts: 30 * day, Deliveries: 90 * day, Events: 90 * day,
		Requests: DefaultRequestRetention}
}

// PruneKinds names the kinds of records, in the order they are pruned:
// attempts before the deliveries they belong to, deliveries before the
// events they refer to.
var PruneKinds = []string{"tokens", "sessions", "attempts", "deliveries", "events", "requests"}

func (r Retention) of(kind string) time.Duration {
	switch kind {
	case "tokens":
		return r.Tokens
	case "sessions":
		return r.Sessions
	case "attempts":
		return r.Attempts
	case "deliveries":
		return r.Deliveries
	case "events":
		return r.Events
	case "requests":
		return r.Requests
	}
	return 0
}

// PruneBatch is how many rows one prune transaction deletes. Each batch is
// its own transaction on the writer, so requests queued behind it wait for
// one batch (a few milliseconds), never for a whole prune; see
// BenchmarkTokensDuringPrune.
const PruneBatch = 200

// pruneRest is how long a prune rests after each batch, as a multiple of
// the time the batch took, its wait for the writer included (the busier
// the writer, the longer the rest): the prune takes at most a fifth of the
// writer's time, like PostgreSQL's vacuum_cost_delay. A prune has no
// hurry: the next is an hour away. Measured with BenchmarkTokensDuringPrune
// (a million attempts under POST /v1/tokens at full load), once the
// checkpoints synced beside the writer (checkpoint.go): 500-row batches
// resting twice their time raised the API's p99 from 14-18 ms to 22-24 ms
// in 22 s; 200-row batches resting four times theirs to 17.8-25.3 ms over
// nine runs on this noisy machine (median about 21), in 62-76 s. Resting
// longer, or smaller batches, did not lower it further. With the WAL
// restarting at 16 MiB (checkpoint.go), 15.4-19.0 ms over five runs in
// 53-66 s; resting eight times each batch then gave 15.1-17.7 ms over three
// in 96-115 s, no better. (Back to back, before either, a prune took 8 s
// and p99 was 91 ms.)
const pruneRest = 4

// RetentionReport is what the admin page shows: the retention in force,
// the last run and the totals since the first.
type RetentionReport struct {
	Retention map[string]time.Duration `json:"retention"`
	LastRunAt time.Time                `json:"lastRunAt"`
	LastTook  time.Duration            `json:"lastTook"`
	LastError string                   `json:"lastError,omitempty"`
	Last      map[string]int64         `json:"last"`
	Total     map[string]int64         `json:"total"`
	Since     time.Time                `json:"since"`
}

const retentionSetting = "retention_report"

// Prune deletes what r no longer keeps, kind by kind, in batches of
// PruneBatch rows, and records the counts for the admin page. It stops
// early, with what it did so far, when ctx ends.
func (s *Store) Prune(ctx context.Context, r Retention) (map[string]int64, error) {
	start := s.Now()
	counts := map[string]int64{}
	var firstErr error
	for _, kind := range PruneKinds {
		keep := r.of(kind)
		if keep <= 0 {
			continue
		}
		n, err := s.pruneKind(ctx, kind, start.Add(-keep))
		counts[kind] = n
		if err != nil {
			firstErr = fmt.Errorf("prune %s: %w", kind, err)
			break
		}
	}
	if err := s.recordPrune(ctx, r, start, counts, firstErr); err != nil && firstErr == nil {
		firstErr = err
	}
	return counts, firstErr
}

// pruneKind deletes the rows of kind older than cutoff, one batch per
// transaction, and returns how many.
func (s *Store) pruneKind(ctx context.Context, kind string, cutoff time.Time) (int64, error) {
	var total int64
	for _, m := range Modes {
		// Deliveries still pending and events that deliveries still refer
		// to are passed over, not deleted: a keyset cursor walks past them
		// so no batch reads them again.
		var afterAt int64 = -1
		afterID := ""
		for {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			var n int64
			var more bool
			began := time.Now()
			err := s.write(ctx, func(tx *gorm.DB) error {
				var err error
				n, more, afterAt, afterID, err = pruneBatch(tx, kind, m, ms(cutoff), afterAt, afterID)
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
			if !more {
				break
			}
			if err := rest(ctx, pruneRest*time.Since(began)); err != nil {
				return total, err
			}
		}
		if kind == "sessions" || kind == "attempts" {
			break // not kept per mode
		}
	}
	return total, nil
}

// pruneBatch deletes one batch and says whether there may be more, with
// the cursor to continue from.
func pruneBatch(tx *gorm.DB, kind string, m Mode, cutoff, afterAt int64, afterID string) (n int64, more bool, at int64, id string, err error) {
	del := func(q string, args ...any) (int64, error) {
		res := tx.Exec(q, args...)
		return res.RowsAffected, res.Error
	}
	switch kind {
	case "tokens":
		n, err = del(`DELETE FROM link_tokens WHERE id IN (
			SELECT id FROM link_tokens WHERE mode = ? AND expires_at < ? LIMIT ?)`, string(m), cutoff, PruneBatch)
		return n, n == PruneBatch, 0, "", err
	case "sessions":
		n, err = del(`DELETE FROM sessions WHERE id IN (
			SELECT id FROM sessions WHERE expires_at < ? OR revoked_at < ? LIMIT ?)`, cutoff, cutoff, PruneBatch)
		return n, n == PruneBatch, 0, "", err
	case "attempts":
		n, err = del(`DELETE FROM attempts WHERE id IN (
			SELECT id FROM attempts WHERE started_at < ? LIMIT ?)`, cutoff, PruneBatch)
		return n, n == PruneBatch, 0, "", err
	case "requests":
		n, err = pruneRequests(tx, m, cutoff)
		return n, n == PruneBatch, 0, "", err
	}
	// Deliveries and events: take the next batch of candidates in
	// (created_at, id) order, then delete those that may go.
	table := map[string]string{"deliveries": "deliveries", "events": "events"}[kind]
	type row struct {
		ID        string
		CreatedAt int64
	}
	var rows []row
	if err := tx.Raw(`SELECT id, created_at FROM `+table+` WHERE mode = ? AND created_at < ?
		AND (created_at, id) > (?, ?) ORDER BY created_at, id LIMIT ?`,
		string(m), cutoff, afterAt, afterID, PruneBatch).Scan(&rows).Error; err != nil {
		return 0, false, 0, "", err
	}
	if len(rows) == 0 {
		return 0, false, 0, "", nil
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	last := rows[len(rows)-1]
	switch kind {
	case "deliveries":
		// A delivery goes with its attempts; the hourly counts follow by trigger.
		if err := tx.Exec(`DELETE FROM attempts WHERE delivery_id IN (
			SELECT id FROM deliveries WHERE id IN ? AND status != 'PENDING')`, ids).Error; err != nil {
			return 0, false, 0, "", err
		}
		n, err = del(`DELETE FROM deliveries WHERE id IN ? AND status != 'PENDING'`, ids)
	case "events":
		n, err = del(`DELETE FROM events WHERE id IN ? AND NOT EXISTS (
			SELECT 1 FROM deliveries WHERE deliveries.event_id = events.id)`, ids)
	}
	return n, len(rows) == PruneBatch, last.CreatedAt, last.ID, err
}

// recordPrune adds a run's counts to the report. Instances pruning at the
// same time each add theirs: the report's row is made when missing and
// locked before it is read, so no run's counts are lost to another's write.
func (s *Store) recordPrune(ctx context.Context, r Retention, at time.Time, counts map[string]int64, runErr error) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("INSERT INTO settings(key, value) VALUES (?, '{}') ON CONFLICT(key) DO NOTHING", retentionSetting).Error; err != nil {
			return err
		}
		var st Setting
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("key = ?", retentionSetting).Take(&st).Error; err != nil {
			return err
		}
		rep, err := parseRetentionReport(st.Value)
		if err != nil {
			return err
		}
		if rep.Since.IsZero() {
			rep.Since = at
		}
		rep.Retention = map[string]time.Duration{}
		for _, k := range PruneKinds {
			rep.Retention[k] = r.of(k)
			rep.Total[k] += counts[k]
		}
		rep.LastRunAt, rep.LastTook, rep.Last = at, s.Now().Sub(at), counts
		rep.LastError = ""
		if runErr != nil {
			rep.LastError = runErr.Error()
		}
		b, err := json.Marshal(rep)
		if err != nil {
			return err
		}
		return tx.Model(&Setting{}).Where("key = ?", retentionSetting).Update("value", string(b)).Error
	})
}

// RetentionReport returns what the last prune recorded; a zero report
// (LastRunAt zero) before the first.
func (s *Store) RetentionReport(ctx context.Context) (*RetentionReport, error) {
	v, ok, err := s.GetSetting(ctx, retentionSetting)
	if err != nil {
		return nil, err
	}
	if !ok {
		v = "{}"
	}
	return parseRetentionReport(v)
}

func parseRetentionReport(v string) (*RetentionReport, error) {
	rep := &RetentionReport{}
	if err := json.Unmarshal([]byte(v), rep); err != nil {
		return nil, fmt.Errorf("read retention report: %w", err)
	}
	if rep.Total == nil {
		rep.Total = map[string]int64{}
	}
	if rep.Last == nil {
		rep.Last = map[string]int64{}
	}
	return rep, nil
}

// rest waits d, or until ctx ends.
func rest(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// pruneRequests deletes one batch of the request log and its users'
// entries in api_request_users. An entry goes with every entry of its user
// older than the cutoff, a range of that table's key: whatever batch its
// own request is in, it is past retention too.
func pruneRequests(tx *gorm.DB, m Mode, cutoff int64) (int64, error) {
	var rows []struct{ ID, UserID string }
	if err := tx.Raw(`SELECT id, user_id FROM api_requests WHERE mode = ? AND created_at < ? LIMIT ?`,
		string(m), cutoff, PruneBatch).Scan(&rows).Error; err != nil || len(rows) == 0 {
		return 0, err
	}
	ids := make([]string, 0, len(rows))
	var users []string
	for _, r := range rows {
		ids = append(ids, r.ID)
		if r.UserID != "" {
			users = append(users, r.UserID)
		}
	}
	slices.Sort(users)
	if users = slices.Compact(users); len(users) > 0 {
		if err := tx.Exec(`DELETE FROM api_request_users WHERE user_id IN ? AND created_at < ?`, users, cutoff).Error; err != nil {
			return 0, err
		}
	}
	res := tx.Exec(`DELETE FROM api_requests WHERE id IN ?`, ids)
	return res.RowsAffected, res.Error
}
