package models

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// sqlInsertRequests writes a whole batch of the request log in one
// statement from one JSON array: one call into SQLite per batch instead of
// one per row, which is what keeps the log off the API's critical path
// (see BenchmarkRefreshTokenRecorded).
const sqlInsertRequests = `INSERT OR IGNORE INTO api_requests(id, mode, api_key_id, api_key, method, path, query, user_id,
	status, error_code, error_message, duration_us, request_body, ip, created_at)
SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7,
	value->>8, value->>9, value->>10, value->>11, value->>12, value->>13, value->>14 FROM jsonb_each(?)`

// RecordAPIRequests adds a batch of requests to the log in one transaction.
// A request id seen twice keeps its first record.
func (s *Store) RecordAPIRequests(ctx context.Context, rs []APIRequest) error {
	if len(rs) == 0 {
		return nil
	}
	doc := appendRequestsJSON(make([]byte, 0, 320*len(rs)), rs)
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(s.d.gormSQL(sqlInsertRequests), string(doc)).Error; err != nil { // a []byte would be expanded into a list
			return fmt.Errorf("record %d API requests: %w", len(rs), err)
		}
		return nil
	})
}

// ListAPIRequests returns one page of mode's request log, newest first.
// A user's requests come from api_request_users (listUserRequests); a
// key's from its own index; errors from the partial errors index; anything
// else from the mode's, filtered as read within the time range.
func (s *Store) ListAPIRequests(ctx context.Context, mode Mode, f APIRequestFilter) (*APIRequestPage, error) {
	f.Size = pageSize(f.Size, DefaultPageSize)
	var rs []APIRequest
	var err error
	if f.UserID != nil {
		rs, err = s.listUserRequests(ctx, mode, f)
	} else {
		err = apiRequestListQuery(s.read(ctx), mode, f).Find(&rs).Error
	}
	if err != nil {
		return nil, fmt.Errorf("list API requests: %w", err)
	}
	page := &APIRequestPage{}
	page.Items, page.NextCursor = cutPage(rs, f.Size, func(r *APIRequest) (time.Time, string) { return r.CreatedAt, r.ID })
	return page, nil
}

func apiRequestListQuery(db *gorm.DB, mode Mode, f APIRequestFilter) *gorm.DB {
	q := apiRequestFilters(db.Model(&APIRequest{}).Scopes(ScopeMode(mode)), f)
	return newestFirst(q, f.CreatedFrom, f.CreatedBefore, f.Cursor, f.Size)
}

// listUserRequests reads one page (and a row past it) of a user's requests:
// those in api_request_users (userRequestsQuery) and those the database has
// not indexed yet (unindexedUserRequestsQuery: a few seconds of the log,
// on SQLite), merged. The unindexed rows are read first: an index pass that
// commits in between has indexed them by the time the second query runs,
// so no request falls between the two reads (one found by both is kept
// once).
func (s *Store) listUserRequests(ctx context.Context, mode Mode, f APIRequestFilter) ([]APIRequest, error) {
	var tail, rs []APIRequest
	if q := unindexedUserRequestsQuery(s.read(ctx), s.d, mode, f); q != nil {
		if err := q.Find(&tail).Error; err != nil {
			return nil, err
		}
	}
	if err := userRequestsQuery(s.read(ctx), mode, f).Find(&rs).Error; err != nil {
		return nil, err
	}
	if len(tail) == 0 {
		return rs, nil
	}
	for _, r := range tail {
		if !slices.ContainsFunc(rs, func(x APIRequest) bool { return x.ID == r.ID }) {
			rs = append(rs, r)
		}
	}
	slices.SortFunc(rs, func(a, b APIRequest) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return rs[:min(len(rs), f.Size+1)], nil
}

// userRequestsQuery walks the user's entries in api_request_users newest
// first, along that table's key, and joins each to its request.
func userRequestsQuery(db *gorm.DB, mode Mode, f APIRequestFilter) *gorm.DB {
	q := db.Table("api_request_users AS u").Select("r.*").
		Joins("JOIN api_requests AS r ON r.id = u.request_id").
		Where("u.user_id = ?", *f.UserID).Where("r.mode = ?", string(mode))
	return newestFirstBy(apiRequestFilters(q, f), "u.created_at", "u.request_id", f.CreatedFrom, f.CreatedBefore, f.Cursor, f.Size)
}

// unindexedUserRequestsQuery reads the user's requests among those the
// database has not put in api_request_users yet; nil when it has none.
func unindexedUserRequestsQuery(db *gorm.DB, d dialect, mode Mode, f APIRequestFilter) *gorm.DB {
	table, where := d.unindexedRequests()
	if table == "" {
		return nil
	}
	q := db.Table(table).Where(where).Where("user_id = ?", *f.UserID).Scopes(ScopeMode(mode))
	return newestFirst(apiRequestFilters(q, f), f.CreatedFrom, f.CreatedBefore, f.Cursor, f.Size)
}

// apiRequestFilters adds the key, status and path filters to a query of
// the log. Their columns are the log's alone, so a join may use them
// unqualified.
func apiRequestFilters(q *gorm.DB, f APIRequestFilter) *gorm.DB {
	if f.APIKeyID != nil {
		q = q.Where("api_key_id = ?", *f.APIKeyID)
	}
	if f.Status != nil {
		if f.Status.Errors() {
			q = q.Where("status >= 400") // the partial index's own condition
		}
		q = q.Where("status BETWEEN ? AND ?", f.Status.Lo, f.Status.Hi)
	}
	if f.PathPrefix != nil {
		q = q.Where("path LIKE ? ESCAPE '\\'", likePrefix(*f.PathPrefix))
	}
	return q
}

// GetAPIRequest returns one request of mode's log by its request id.
func (s *Store) GetAPIRequest(ctx context.Context, mode Mode, id string) (*APIRequest, error) {
	var r APIRequest
	err := s.read(ctx).Scopes(ScopeMode(mode)).Where("id = ?", id).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, NotFound("API request", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get API request %s: %w", id, err)
	}
	return &r, nil
}

// appendRequestsJSON writes the batch as the JSON array of arrays that
// sqlInsertRequests reads. Written by hand: encoding/json's reflection over
// [][]any was half of the recorder's CPU under load (BenchmarkRefreshToken
// Recorded's profile: 0.39 s of 0.74 s).
func appendRequestsJSON(b []byte, rs []APIRequest) []byte {
	b = append(b, '[')
	for i := range rs {
		r := &rs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = appendLogStrings(b, r.ID, string(r.Mode), r.APIKeyID, r.APIKey, r.Method, r.Path, r.Query, r.UserID)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(r.Status), 10)
		b = append(b, ',')
		b = appendLogString(b, r.ErrorCode)
		b = append(b, ',')
		b = appendLogString(b, r.ErrorMessage)
		b = append(b, ',')
		b = strconv.AppendInt(b, r.DurationUS, 10)
		b = append(b, ',')
		b = appendLogString(b, r.RequestBody)
		b = append(b, ',')
		b = appendLogString(b, r.IP)
		b = append(b, ',')
		b = strconv.AppendInt(b, ms(r.CreatedAt), 10)
		b = append(b, ']')
	}
	return append(b, ']')
}

// appendLogStrings appends vs as JSON strings separated by commas, the
// string columns of one row of a batch's JSON array.
func appendLogStrings(b []byte, vs ...string) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLogString(b, v)
	}
	return b
}

// appendLogString appends s as a JSON string. Plain ASCII, nearly every
// value here, is escaped by hand; anything else goes through encoding/json,
// which also replaces invalid UTF-8. (The dispatcher has its own helper;
// this one is kept apart so each can change without the other.)
func appendLogString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x80 {
			out, _ := json.Marshal(s)
			return append(b, out...)
		}
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', logHexDigits[c>>4], logHexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

const logHexDigits = "0123456789abcdef"
