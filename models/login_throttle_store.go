package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// errTryRefused rolls back a BeginLoginTry that found no free place, so the
// rows it created to lock are not kept.
var errTryRefused = errors.New("sign-in try refused")

// BeginLoginTry takes a place for one sign-in try under every key, or none
// when one of them has no free place; then it returns how long to wait. One
// transaction: the keys' rows are locked while they are read and written,
// so tries made at once against several instances are counted together.
func (s *Store) BeginLoginTry(ctx context.Context, keys []ThrottleKey) (time.Duration, error) {
	now := ms(s.Now())
	var wait time.Duration
	err := s.write(ctx, func(tx *gorm.DB) error {
		rows, err := lockLoginFailures(tx, keys, now)
		if err != nil {
			return err
		}
		for i, k := range keys {
			wait = max(wait, rows[i].wait(k.Free, now))
		}
		if wait > 0 {
			return errTryRefused
		}
		for _, f := range rows {
			f.begin(now)
			if err := saveLoginFailures(tx, f); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errTryRefused) {
		return wait, nil
	}
	if err != nil {
		return 0, fmt.Errorf("begin sign-in try: %w", err)
	}
	s.pruneLoginThrottle(ctx, now)
	return 0, nil
}

// FailLoginTry settles a try BeginLoginTry let in as a failure, and returns
// the wait it imposes on the next try.
func (s *Store) FailLoginTry(ctx context.Context, keys []ThrottleKey) (time.Duration, error) {
	now := ms(s.Now())
	var longest time.Duration
	err := s.write(ctx, func(tx *gorm.DB) error {
		rows, err := lockLoginFailures(tx, keys, now)
		if err != nil {
			return err
		}
		for i, k := range keys {
			longest = max(longest, rows[i].fail(k.Free, now))
			if err := saveLoginFailures(tx, rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count failed sign-in try: %w", err)
	}
	return longest, nil
}

// SucceedLoginTry settles a try as a success: the failures of the keys in
// forget are forgotten; the others only give back their place (the
// address's own count stays: many e-mails guessed from one address are
// still many guesses).
func (s *Store) SucceedLoginTry(ctx context.Context, forget, release []string) error {
	now := ms(s.Now())
	err := s.write(ctx, func(tx *gorm.DB) error {
		// Keys in one order, the order every method locks them in.
		for _, key := range sortedKeys(append(slices.Clone(forget), release...)) {
			if slices.Contains(forget, key) {
				if err := tx.Where("key = ?", key).Delete(&loginFailures{}).Error; err != nil {
					return err
				}
				continue
			}
			err := tx.Exec(`UPDATE login_throttle SET in_flight = in_flight - 1
				WHERE key = ? AND in_flight > 0 AND in_flight_until > ?`, key, now).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("settle sign-in try: %w", err)
	}
	return nil
}

// lockLoginFailures returns the rows of keys, in the order of keys, each
// created when missing and locked until the transaction ends. The upsert
// both creates and locks (ON CONFLICT DO UPDATE takes the row's lock on
// PostgreSQL; SQLite has one writer), and the keys are locked in sorted
// order so two tries never wait on each other's second key.
func lockLoginFailures(tx *gorm.DB, keys []ThrottleKey, now int64) ([]*loginFailures, error) {
	byKey := map[string]*loginFailures{}
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Key
	}
	for _, key := range sortedKeys(names) {
		var f loginFailures
		err := tx.Raw(`INSERT INTO login_throttle(key, last_at) VALUES (?, ?)
			ON CONFLICT (key) DO UPDATE SET key = excluded.key
			RETURNING key, failures, in_flight, in_flight_until, last_at, until_at`, key, now).Scan(&f).Error
		if err != nil {
			return nil, fmt.Errorf("lock throttle key: %w", err)
		}
		byKey[key] = &f
	}
	out := make([]*loginFailures, len(keys))
	for i, k := range keys {
		out[i] = byKey[k.Key]
	}
	return out, nil
}

func saveLoginFailures(tx *gorm.DB, f *loginFailures) error {
	return tx.Exec(`UPDATE login_throttle SET failures = ?, in_flight = ?, in_flight_until = ?, last_at = ?, until_at = ?
		WHERE key = ?`, f.Failures, f.InFlight, f.InFlightUntil, f.LastAt, f.UntilAt, f.Key).Error
}

func sortedKeys(keys []string) []string {
	out := slices.Clone(keys)
	slices.SortFunc(out, strings.Compare)
	return slices.Compact(out)
}

// pruneLoginThrottle deletes forgotten keys, at most once a minute per
// instance, in its own transaction. Rows another transaction holds are
// skipped (SKIP LOCKED on PostgreSQL), so the prune never waits on a
// sign-in and cannot be part of a deadlock. A failure is left for the next
// prune: the rows are only dead weight.
func (s *Store) pruneLoginThrottle(ctx context.Context, now int64) {
	last := s.throttlePrunedAt.Load()
	if now-last < throttlePruneEvery.Milliseconds() || !s.throttlePrunedAt.CompareAndSwap(last, now) {
		return
	}
	_ = s.write(ctx, func(tx *gorm.DB) error {
		forgotten := tx.Session(&gorm.Session{NewDB: true}).Model(&loginFailures{}).Select("key").
			Where("last_at < ? AND in_flight_until <= ?", now-forgetFailuresAfter.Milliseconds(), now).
			Limit(PruneBatch).Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
		return tx.Where("key IN (?)", forgotten).Delete(&loginFailures{}).Error
	})
}
