package models

import (
	"context"
	"fmt"
	"strings"
)

// SearchKind says what a search found, so the console knows which page to open.
type SearchKind string

const (
	FoundNothing   SearchKind = ""
	FoundUser      SearchKind = "user"
	FoundToken     SearchKind = "token"     // a token id; ID is the token, UserID its user
	FoundRawToken  SearchKind = "raw_token" // a pasted token: the inspector explains it
	FoundEvent     SearchKind = "event"
	FoundDelivery  SearchKind = "delivery"
	FoundEndpoint  SearchKind = "endpoint"
	FoundMetadata  SearchKind = "metadata" // users whose metadata has the value
	FoundOtherMode SearchKind = "other_mode"
)

// SearchResult is where a search lands.
type SearchResult struct {
	Kind      SearchKind
	ID        string
	UserID    string
	Users     []string // for FoundMetadata: the first matching user ids
	OtherMode Mode     // for FoundOtherMode: the mode the id belongs to
	OtherKind SearchKind
}

// Search finds what a support ticket's text points at, in mode: a user id, a
// token id, a raw token, an event, delivery or endpoint id, or a metadata
// value. Each probe is one primary-key or index lookup. An id that exists in
// the other mode is reported as such instead of as "nothing".
func (s *Store) Search(ctx context.Context, mode Mode, q string) (*SearchResult, error) {
	q = strings.TrimSpace(q)
	if q == "" || len(q) > 4096 {
		return &SearchResult{}, nil
	}
	db := s.read(ctx)
	probe := func(table, id string) (Mode, string, error) {
		var row struct {
			Mode   string
			UserID string
		}
		cols := "mode, '' AS user_id"
		if table != "webhook_endpoints" {
			cols = "mode, user_id"
		}
		err := db.Raw("SELECT "+cols+" FROM "+table+" WHERE id = ?", id).Scan(&row).Error
		return Mode(row.Mode), row.UserID, err
	}
	try := func(kind SearchKind, table, id string) (*SearchResult, error) {
		m, userID, err := probe(table, id)
		if err != nil {
			return nil, fmt.Errorf("search %s: %w", table, err)
		}
		switch {
		case m == "":
			return nil, nil
		case m != mode:
			return &SearchResult{Kind: FoundOtherMode, ID: id, OtherMode: m, OtherKind: kind}, nil
		}
		return &SearchResult{Kind: kind, ID: id, UserID: userID}, nil
	}
	switch {
	case LooksLikeTokenID(q):
		if r, err := try(FoundToken, "link_tokens", q); r != nil || err != nil {
			return r, err
		}
	case LooksLikeObjectID(strings.ToLower(q)):
		id := strings.ToLower(q)
		for _, t := range []struct {
			kind  SearchKind
			table string
		}{{FoundEvent, "events"}, {FoundDelivery, "deliveries"}, {FoundEndpoint, "webhook_endpoints"}} {
			if r, err := try(t.kind, t.table, id); r != nil || err != nil {
				return r, err
			}
		}
	case LooksLikeUserID(q):
		var m string
		if err := db.Raw("SELECT mode FROM users WHERE id = ?", q).Scan(&m).Error; err != nil {
			return nil, fmt.Errorf("search users: %w", err)
		}
		if m == string(mode) {
			return &SearchResult{Kind: FoundUser, ID: q, UserID: q}, nil
		}
		if m != "" {
			return &SearchResult{Kind: FoundOtherMode, ID: q, OtherMode: Mode(m), OtherKind: FoundUser}, nil
		}
	case strings.Count(q, ".") == 2 && !strings.ContainsAny(q, " \t\n"):
		// Anything shaped like a signed token goes to the inspector, which
		// explains it even when it was never issued here.
		return &SearchResult{Kind: FoundRawToken}, nil
	}
	var ids []string
	err := db.Raw("SELECT user_id FROM user_metadata WHERE mode = ? AND value = ? LIMIT 6", mode, q).Scan(&ids).Error
	if err != nil {
		return nil, fmt.Errorf("search metadata: %w", err)
	}
	switch len(ids) {
	case 0:
		return &SearchResult{}, nil
	case 1:
		return &SearchResult{Kind: FoundUser, ID: ids[0], UserID: ids[0]}, nil
	}
	return &SearchResult{Kind: FoundMetadata, Users: ids}, nil
}
