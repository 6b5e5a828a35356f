package models

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// SearchKind says what a search found, so the console knows which page to open.
type SearchKind string

const (
	FoundNothing   SearchKind = ""
	FoundUser      SearchKind = "user"
	FoundToken     SearchKind = "token"     // a token id; ID is the token, UserID its user
	FoundRawToken  SearchKind = "raw_token" // a pasted token: the inspector explains it; ID is the cleaned token
	FoundEvent     SearchKind = "event"
	FoundDelivery  SearchKind = "delivery"
	FoundEndpoint  SearchKind = "endpoint"
	FoundRequest   SearchKind = "request" // an API request id from an error envelope
	FoundSeveral   SearchKind = "several" // Hits holds what matched
	FoundOtherMode SearchKind = "other_mode"
)

// SearchHitLimit is how many matches a results page lists; one more is read
// to know there are more.
const SearchHitLimit = 20

// SearchHit is one thing a search matched, with what in it matched.
type SearchHit struct {
	Kind   SearchKind
	ID     string
	UserID string
	// Field and Value say what matched, e.g. the metadata key and its value.
	Field string
	Value string
}

// SearchResult is where a search lands.
type SearchResult struct {
	Kind      SearchKind
	ID        string
	UserID    string
	OtherMode Mode // for FoundOtherMode: the mode the id belongs to
	OtherKind SearchKind
	// Hits are the matches of FoundSeveral, exact ones before prefix ones.
	Hits []SearchHit
	// More says there were more than SearchHitLimit matches.
	More bool
	// Prefix says the hits start with the text rather than equal it.
	Prefix bool
	// Tried lists, in words, what the text was looked up as, for a page
	// that found nothing.
	Tried []string
}

var (
	uuidRe       = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	anyUserIDRe  = regexp.MustCompile(`^[A-Za-z0-9]{1,40}-[0-9a-fA-F]{32}$`)
	tokenIDAnyRe = regexp.MustCompile(`^[tT][kK]-[0-9a-fA-F]{32}$`)
	jwtShapeRe   = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)
)

// CleanSearchText undoes what copying from a ticket adds: surrounding
// whitespace and quotes, and an "Authorization: Bearer " in front.
func CleanSearchText(q string) string {
	q = strings.TrimSpace(q)
	for range 3 {
		before := q
		q = strings.TrimSpace(strings.Trim(q, "\"'`“”‘’<>"))
		if len(q) >= 14 && strings.EqualFold(q[:14], "authorization:") {
			q = strings.TrimSpace(q[14:])
		}
		if len(q) >= 7 && strings.EqualFold(q[:7], "bearer ") {
			q = strings.TrimSpace(q[7:])
		}
		if q == before {
			break
		}
	}
	return q
}

// AsRawToken returns the token q holds when it is shaped like a signed link
// token once line breaks and spaces are taken out: three base64url parts
// whose first decodes to a JSON header naming an algorithm. An e-mail
// address or a domain (shop.acme.test) has dots too but never such a header.
func AsRawToken(q string) (string, bool) {
	raw := strings.Join(strings.Fields(q), "")
	if len(raw) > 4096 || !jwtShapeRe.MatchString(raw) {
		return "", false
	}
	head, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(raw[:strings.IndexByte(raw, '.')], "="))
	if err != nil {
		return "", false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(head, &h) != nil || h.Alg == "" {
		return "", false
	}
	return raw, true
}

// Search finds what a support ticket's text points at, in mode: a user id, a
// token id, a raw token, an event, delivery or endpoint id, an API request
// id, or a metadata value (any letter case, equal first, then starting
// with it). Each probe is one primary-key or index lookup. An id that
// exists in the other mode is reported as such instead of as "nothing".
func (s *Store) Search(ctx context.Context, mode Mode, q string) (*SearchResult, error) {
	q = CleanSearchText(q)
	if q == "" || len(q) > 4096 {
		return &SearchResult{}, nil
	}
	db := s.read(ctx)
	try := func(kind SearchKind, table, id string) (*SearchResult, error) {
		var row struct {
			Mode   string
			UserID string
		}
		cols := "mode, user_id"
		switch table {
		case "webhook_endpoints":
			cols = "mode, '' AS user_id"
		case "users":
			cols = "mode, id AS user_id"
		}
		if err := db.Raw("SELECT "+cols+" FROM "+table+" WHERE id = ?", id).Scan(&row).Error; err != nil {
			return nil, fmt.Errorf("search %s: %w", table, err)
		}
		switch m := Mode(row.Mode); {
		case m == "":
			return nil, nil
		case m != mode:
			return &SearchResult{Kind: FoundOtherMode, ID: id, OtherMode: m, OtherKind: kind}, nil
		}
		return &SearchResult{Kind: kind, ID: id, UserID: row.UserID}, nil
	}
	var tried []string
	if raw, ok := AsRawToken(q); ok {
		// Anything shaped like a signed token goes to the inspector, which
		// explains it even when it was never issued here.
		return &SearchResult{Kind: FoundRawToken, ID: raw}, nil
	}
	switch {
	case tokenIDAnyRe.MatchString(q):
		tried = append(tried, "a token id")
		if r, err := try(FoundToken, "link_tokens", strings.ToLower(q)); r != nil || err != nil {
			return r, err
		}
	case LooksLikeObjectID(strings.ToLower(q)):
		tried = append(tried, "an event, delivery or endpoint id")
		id := strings.ToLower(q)
		for _, t := range []struct {
			kind  SearchKind
			table string
		}{{FoundEvent, "events"}, {FoundDelivery, "deliveries"}, {FoundEndpoint, "webhook_endpoints"}} {
			if r, err := try(t.kind, t.table, id); r != nil || err != nil {
				return r, err
			}
		}
	case uuidRe.MatchString(q):
		tried = append(tried, "an API request id")
		if r, err := try(FoundRequest, "api_requests", strings.ToLower(q)); r != nil || err != nil {
			return r, err
		}
	case anyUserIDRe.MatchString(q):
		tried = append(tried, "a user id")
		// The tenant part is kept as written; the hex part is lowercase.
		cut := strings.LastIndexByte(q, '-')
		id := q[:cut+1] + strings.ToLower(q[cut+1:])
		if r, err := try(FoundUser, "users", id); r != nil || err != nil {
			return r, err
		}
	}
	hits, more, prefix, err := s.searchMetadata(ctx, mode, q)
	if err != nil {
		return nil, err
	}
	switch {
	case len(hits) == 1 && !prefix:
		return &SearchResult{Kind: FoundUser, ID: hits[0].ID, UserID: hits[0].ID}, nil
	case len(hits) > 0:
		return &SearchResult{Kind: FoundSeveral, Hits: hits, More: more, Prefix: prefix}, nil
	}
	tried = append(tried, "a metadata value, in any letter case")
	if len(q) >= minPrefixSearch {
		tried = append(tried, "the start of a metadata value")
	}
	return &SearchResult{Tried: tried}, nil
}

// minPrefixSearch is the shortest text matched as the start of a value:
// shorter prefixes match too much to help.
const minPrefixSearch = 3

// Metadata values are matched in any letter case, through one index (SQLite:
// NOCASE, whose LIKE ignores ASCII case too). The equal match's LIMIT +?
// keeps the bound limit out of SQLite's plan, which would otherwise be
// compiled again on every search (see claimTail); the prefix match is
// compiled with its pattern each time anyway, to use the index for it.
const (
	sqlMetadataEqual  = `SELECT user_id, key, value FROM user_metadata WHERE mode = ? AND value = ? COLLATE NOCASE LIMIT +?`
	sqlMetadataPrefix = `SELECT user_id, key, value FROM user_metadata WHERE mode = ? AND value LIKE ? ESCAPE '\' LIMIT ?`
)

// searchMetadata finds users of mode by a metadata value in any letter
// case: those whose value equals q, or if none, those whose value starts
// with q. Both are one range of the (mode, value COLLATE NOCASE) index.
func (s *Store) searchMetadata(ctx context.Context, mode Mode, q string) (hits []SearchHit, more, prefix bool, err error) {
	db := s.read(ctx)
	var rows []struct{ UserID, Key, Value string }
	err = db.Raw(s.d.gormSQL(sqlMetadataEqual), mode, q, SearchHitLimit+1).Scan(&rows).Error
	if err != nil {
		return nil, false, false, fmt.Errorf("search metadata: %w", err)
	}
	if len(rows) == 0 && len(q) >= minPrefixSearch {
		prefix = true
		err = db.Raw(s.d.gormSQL(sqlMetadataPrefix), mode, likePrefix(q), SearchHitLimit+1).Scan(&rows).Error
		if err != nil {
			return nil, false, false, fmt.Errorf("search metadata by prefix: %w", err)
		}
	}
	if len(rows) > SearchHitLimit {
		rows, more = rows[:SearchHitLimit], true
	}
	for _, r := range rows {
		hits = append(hits, SearchHit{Kind: FoundUser, ID: r.UserID, UserID: r.UserID, Field: r.Key, Value: r.Value})
	}
	return hits, more, prefix, nil
}

// likePrefix is q as a LIKE pattern matching values that start with it.
func likePrefix(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(q) + "%"
}
