package models

import (
	"encoding/base64"
	"gorm.io/gorm"
	"strconv"
	"strings"
	"time"
)

// Cursor marks a position in a list ordered by (created_at, id), newest
// first. Clients see it as an opaque string.
type Cursor struct {
	At time.Time
	ID string
}

// Encode returns the opaque form of c.
func (c Cursor) Encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(ms(c.At), 10) + ":" + c.ID))
}

// DecodeCursor reads a cursor given by a client. An empty string is no cursor.
func DecodeCursor(s string) (*Cursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := FieldError("cursor", "cursor is not one this server returned; pass nextCursor from the previous page unchanged")
	if len(s) > 200 {
		return nil, bad
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	at, id, ok := strings.Cut(string(raw), ":")
	if !ok || id == "" || len(id) > 100 {
		return nil, bad
	}
	n, err := strconv.ParseInt(at, 10, 64)
	if err != nil || n < 0 {
		return nil, bad
	}
	return &Cursor{At: time.UnixMilli(n).UTC(), ID: id}, nil
}

// Page sizes, as the contract sets them.
const (
	DefaultPageSize = 10
	MaxPageSize     = 150
)

// ParseSize reads the size query parameter: 1..150, 10 when empty.
func ParseSize(s string) (int, error) {
	if s == "" {
		return DefaultPageSize, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPageSize {
		return 0, FieldError("size", "size must be a whole number from 1 to %d, got %q", MaxPageSize, truncate(s, 20))
	}
	return n, nil
}

// ParseDate reads a YYYY-MM-DD date parameter as midnight UTC.
func ParseDate(field, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return nil, FieldError(field, "%s must be a date written YYYY-MM-DD, got %q", field, truncate(s, 30))
	}
	return &t, nil
}

// ParseDateRange reads the startDate and endDate parameters as a range of
// creation times: from midnight of startDate up to, but not including,
// midnight after endDate, so both days are whole.
func ParseDateRange(startDate, endDate string) (from, before *time.Time, err error) {
	if from, err = ParseDate("startDate", startDate); err != nil {
		return nil, nil, err
	}
	end, err := ParseDate("endDate", endDate)
	if err != nil || end == nil {
		return from, nil, err
	}
	if from != nil && end.Before(*from) {
		return nil, nil, FieldError("endDate", "endDate %s is before startDate %s", endDate, startDate)
	}
	next := end.AddDate(0, 0, 1)
	return from, &next, nil
}

// newestFirst adds what every newest-first list shares to q: the range of
// creation times, the position after the cursor, the order, and a limit of
// one row past the page, which tells whether there is a next one.
func newestFirst(q *gorm.DB, from, before *time.Time, c *Cursor, size int) *gorm.DB {
	return newestFirstBy(q, "created_at", "id", from, before, c, size)
}

// newestFirstBy is newestFirst on the named time and id columns (a join
// orders by the columns of the index it walks).
func newestFirstBy(q *gorm.DB, at, id string, from, before *time.Time, c *Cursor, size int) *gorm.DB {
	if from != nil {
		q = q.Where(at+" >= ?", ms(*from))
	}
	if before != nil {
		q = q.Where(at+" < ?", ms(*before))
	}
	if c != nil {
		where, args := keysetBy(at, id, c)
		q = q.Where(where, args...)
	}
	return q.Order(at + " DESC, " + id + " DESC").Limit(size + 1)
}

// cutPage drops the extra row newestFirst read and returns the cursor of
// the next page: "" on the last one.
func cutPage[T any](items []T, size int, at func(*T) (time.Time, string)) ([]T, string) {
	if len(items) <= size {
		return items, ""
	}
	items = items[:size]
	t, id := at(&items[size-1])
	return items, Cursor{At: t, ID: id}.Encode()
}

// pageSize keeps a requested page size within the contract's bounds.
func pageSize(n, fallback int) int {
	if n <= 0 || n > MaxPageSize {
		return fallback
	}
	return n
}

// keysetBy adds "older than the cursor" to a newest-first query on the
// named columns. The plain at <= bound is implied by the OR, but SQLite
// only turns a bound it can see on its own into an index range: without it
// a deep page walks the index from the newest row down to the cursor.
func keysetBy(at, id string, c *Cursor) (string, []any) {
	return at + " <= ? AND (" + at + " < ? OR (" + at + " = ? AND " + id + " < ?))", []any{ms(c.At), ms(c.At), ms(c.At), c.ID}
}
