package models

import (
	"context"
	"fmt"
)

// ListUsersByMetadataValue is ListUsers for a filter with a MetadataValue,
// driven from the (mode, value) index: with a million users, a value held by
// a few of them is found in microseconds, where walking the users newest
// first and testing each against the value takes a tenth of a second.
func (s *Store) ListUsersByMetadataValue(ctx context.Context, mode Mode, f UserFilter) (*UserPage, error) {
	if f.MetadataValue == nil {
		return s.ListUsers(ctx, mode, f)
	}
	if f.Size <= 0 || f.Size > MaxPageSize {
		f.Size = DefaultPageSize
	}
	// CROSS JOIN fixes the join order in SQLite: the metadata rows first.
	q := s.read(ctx).Table("(SELECT user_id FROM user_metadata WHERE mode = ? AND value = ?) AS m CROSS JOIN users", mode, *f.MetadataValue).
		Select("users.*").Where("users.id = m.user_id").Scopes(ScopeMode(mode))
	if f.CreatedFrom != nil {
		q = q.Where("created_at >= ?", ms(*f.CreatedFrom))
	}
	if f.CreatedBefore != nil {
		q = q.Where("created_at < ?", ms(*f.CreatedBefore))
	}
	if f.Cursor != nil {
		where, args := keyset(f.Cursor)
		q = q.Where(where, args...)
	}
	var users []User
	if err := q.Order("created_at DESC, id DESC").Limit(f.Size + 1).Find(&users).Error; err != nil {
		return nil, fmt.Errorf("list users by metadata value: %w", err)
	}
	page := &UserPage{Items: users}
	if len(users) > f.Size {
		page.Items = users[:f.Size]
		last := page.Items[f.Size-1]
		page.NextCursor = Cursor{At: last.CreatedAt, ID: last.ID}.Encode()
	}
	return page, nil
}
