package models

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// On SQLite, api_request_users (which lists each logged request under the
// user it concerned) is filled behind the log rather than by the log's own
// insert. An index entry keyed by user lands on that user's last page, a
// random page of the index; SQLite writes every page a transaction changes
// whole to the WAL, so a 500-row batch of the log dirtied hundreds of pages
// for it: most of what the log cost POST /v1/tokens (BenchmarkRefreshToken
// Recorded, with the index and without it). Gathered for a few seconds and
// sorted by user, the entries of one user go in together, onto one page.
// Every 5 s rather than every second: with a thousand users under POST
// /v1/tokens a one-second pass wrote about five entries per page it
// dirtied, and took 4.1% of the server's CPU during BenchmarkTokensDuring
// Prune, 2.2% at 5 s. What it costs a reader instead is the unindexed
// rows it scans for a user's page: at most 5 s of the log.
//
// What the pass has not reached yet is read from the log itself (see
// unindexedRequests): SQLite's one writer hands out rowids in commit order,
// so "rowid after the one the index has reached" is exactly the rows not
// yet indexed, with no window to guess. The rowid reached is kept in
// settings and moves in the same transaction as the last entries of the
// pass, so a request is always in one of the two, also after a crash.
const (
	requestUsersEvery   = 5 * time.Second
	requestUsersChunk   = 500    // entries per write transaction: each holds the writer briefly
	requestUsersMaxRows = 50_000 // log rows read per pass; a pass that reaches it goes on at once
	requestUsersThrough = "api_request_users_through"
)

// sqliteUnindexedRequests selects the log's rows whose users the pass has
// not reached. The table is read NOT INDEXED (unindexedRequests), which
// keeps SQLite on this rowid range, a few seconds of the log, rather than
// walking a time index of the whole mode.
const sqliteUnindexedRequests = `rowid > COALESCE(
	(SELECT CAST(value AS INTEGER) FROM settings WHERE key = '` + requestUsersThrough + `'), 0)`

// requestUsersLoop runs IndexRequestUsers every requestUsersEvery until
// stop is closed. A failed pass (a full disk) is tried again at the next
// tick; until then the requests stay listed from the log itself.
func (s *Store) requestUsersLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(requestUsersEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		for {
			more, err := s.indexRequestUsersOnce(context.Background())
			if err != nil || !more {
				break
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}
}

// IndexRequestUsers brings api_request_users up to the end of the request
// log now, rather than at the next pass. Only SQLite fills it behind the
// log; on PostgreSQL there is nothing to do.
func (s *Store) IndexRequestUsers(ctx context.Context) error {
	if table, _ := s.d.unindexedRequests(); table == "" {
		return nil
	}
	for {
		more, err := s.indexRequestUsersOnce(ctx)
		if err != nil || !more {
			return err
		}
	}
}

type requestUserEntry struct {
	UserID    string
	CreatedAt int64
	ID        string
}

// readRequestUsers reads the users of the log's rows in a rowid range.
// database/sql's Scan, not GORM's: its reflection per row was 40% of the
// pass's CPU under BenchmarkRefreshTokenRecorded.
func readRequestUsers(ctx context.Context, s *Store, after, upTo int64) ([]requestUserEntry, error) {
	db, err := s.R.DB()
	if err != nil {
		return nil, err
	}
	rs, err := db.QueryContext(ctx, `SELECT user_id, created_at, id FROM api_requests
		WHERE rowid > ? AND rowid <= ? AND user_id <> ''`, after, upTo)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	out := make([]requestUserEntry, 0, upTo-after)
	for rs.Next() {
		var e requestUserEntry
		if err := rs.Scan(&e.UserID, &e.CreatedAt, &e.ID); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rs.Err()
}

// indexRequestUsersOnce indexes the users of up to requestUsersMaxRows of
// the log's rows after the rowid reached, and says whether more remain.
func (s *Store) indexRequestUsersOnce(ctx context.Context) (more bool, err error) {
	var through, last int64
	r := s.R.WithContext(ctx)
	if err := r.Raw(`SELECT COALESCE((SELECT CAST(value AS INTEGER) FROM settings WHERE key = ?), 0),
		COALESCE((SELECT MAX(rowid) FROM api_requests), 0)`, requestUsersThrough).Row().Scan(&through, &last); err != nil {
		return false, fmt.Errorf("index the request log's users: %w", err)
	}
	if last < through {
		// The log was emptied (retention, after a long quiet) and its
		// rowids started over: every row it holds is new.
		through = 0
	}
	if last == through {
		return false, nil
	}
	upTo := min(last, through+requestUsersMaxRows)
	rows, err := readRequestUsers(ctx, s, through, upTo)
	if err != nil {
		return false, fmt.Errorf("index the request log's users: %w", err)
	}
	slices.SortFunc(rows, func(a, b requestUserEntry) int {
		return cmp.Or(cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.CreatedAt, b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	for len(rows) > requestUsersChunk {
		if err := s.write(ctx, func(tx *gorm.DB) error { return insertRequestUsers(tx, rows[:requestUsersChunk]) }); err != nil {
			return false, err
		}
		rows = rows[requestUsersChunk:]
	}
	err = s.write(ctx, func(tx *gorm.DB) error {
		if err := insertRequestUsers(tx, rows); err != nil {
			return err
		}
		return tx.Exec(`INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
			requestUsersThrough, strconv.FormatInt(upTo, 10)).Error
	})
	if err != nil {
		return false, fmt.Errorf("index the request log's users: %w", err)
	}
	return upTo < last, nil
}

// insertRequestUsers writes entries, sorted, in one statement. An entry
// already there (a pass that failed after some chunks) is left as it is.
func insertRequestUsers(tx *gorm.DB, rows []requestUserEntry) error {
	if len(rows) == 0 {
		return nil
	}
	doc := make([]byte, 0, 80*len(rows))
	doc = append(doc, '[')
	for i := range rows {
		if i > 0 {
			doc = append(doc, ',')
		}
		doc = append(doc, '[')
		doc = appendLogString(doc, rows[i].UserID)
		doc = append(doc, ',')
		doc = strconv.AppendInt(doc, rows[i].CreatedAt, 10)
		doc = append(doc, ',')
		doc = appendLogString(doc, rows[i].ID)
		doc = append(doc, ']')
	}
	doc = append(doc, ']')
	if err := tx.Exec(`INSERT OR IGNORE INTO api_request_users(user_id, created_at, request_id)
		SELECT value->>0, value->>1, value->>2 FROM json_each(?)`, string(doc)).Error; err != nil {
		return fmt.Errorf("index %d requests by user: %w", len(rows), err)
	}
	return nil
}
