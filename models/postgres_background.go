package models

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// What runs beside a PostgreSQL store: the clock (leases and every stored
// time follow the database's clock, not each machine's, so two instances
// agree on when a lease ends), and the notification channel the instances
// share.

const (
	clockEvery = 30 * time.Second
	// notifyEvery coalesces notices: a burst of user creations sends one
	// NOTIFY per interval, not one per commit (NOTIFY serialises commits).
	notifyEvery = 10 * time.Millisecond
	// notifyChannel carries "<schema> <kind> <instance>"; kinds are
	// "deliveries" and "keys".
	notifyChannel = "tokendesk"
)

// listenReadyWait bounds how long Open waits for the listening connection:
// an instance should hear the others from the moment it serves, but a slow
// LISTEN must not stop it from starting (the poll covers the gap).
const listenReadyWait = 5 * time.Second

func (d *postgresDialect) started(s *Store) {
	d.stopBG = make(chan struct{})
	d.syncClock(s)
	ready := make(chan struct{})
	d.bgDone.Add(2)
	go d.clockLoop(s)
	go d.listen(s, ready)
	select {
	case <-ready:
	case <-time.After(listenReadyWait):
	}
}

func (d *postgresDialect) stop(*Store) {
	if d.stopBG == nil {
		return
	}
	close(d.stopBG)
	d.bgDone.Wait()
	d.stopBG = nil
}

// syncClock sets the store's clock to the database's: the offset is read
// from clock_timestamp() around a round trip (a test that sets Store.Now
// keeps its own clock).
func (d *postgresDialect) syncClock(s *Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	before := time.Now()
	var dbMS int64
	err := scanRow(s.R.WithContext(ctx).Raw("SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint"), &dbMS)
	if err != nil {
		return // keep the last offset; the next tick tries again
	}
	after := time.Now()
	mid := before.Add(after.Sub(before) / 2)
	s.clockOffset.Store(int64(time.UnixMilli(dbMS).Sub(mid)))
}

func (d *postgresDialect) clockLoop(s *Store) {
	defer d.bgDone.Done()
	t := time.NewTicker(clockEvery)
	defer t.Stop()
	for {
		select {
		case <-d.stopBG:
			return
		case <-t.C:
			d.syncClock(s)
		}
	}
}

// queued sends one NOTIFY after commits that queued deliveries, at most one
// per notifyEvery: a later commit inside the interval is covered by a
// notice sent at its end.
func (d *postgresDialect) queued(s *Store) {
	d.notifyMu.Lock()
	if d.pending {
		d.notifyMu.Unlock()
		return
	}
	wait := notifyEvery - time.Since(d.lastNotify)
	d.pending = true
	d.notifyMu.Unlock()
	send := func() {
		d.notifyMu.Lock()
		d.pending, d.lastNotify = false, time.Now()
		d.notifyMu.Unlock()
		d.notify(s, "deliveries")
	}
	if wait <= 0 {
		send()
		return
	}
	time.AfterFunc(wait, send)
}

func (d *postgresDialect) notify(s *Store, kind string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	payload := d.schema + " " + kind + " " + d.instance
	if err := s.W.WithContext(ctx).Exec("SELECT pg_notify(?, ?)", notifyChannel, payload).Error; err != nil {
		slog.Warn("notify other instances", "kind", kind, "err", err)
	}
}

// listen holds one connection of its own on LISTEN, reconnecting when it
// drops, and wakes this instance for what other instances announce. The
// dispatcher's poll stays as the backstop for notices lost meanwhile.
func (d *postgresDialect) listen(s *Store, ready chan struct{}) {
	defer d.bgDone.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-d.stopBG
		cancel()
	}()
	wait := 100 * time.Millisecond
	for first := true; ctx.Err() == nil; first = false {
		err := d.listenOnce(ctx, s, first, ready)
		if ctx.Err() != nil {
			return
		}
		slog.Warn("listening for other instances' notices; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// listenOnce listens until the connection fails. ready is closed once the
// first LISTEN holds; after a reconnection, anything queued while no one
// listened is found by a look at once.
func (d *postgresDialect) listenOnce(ctx context.Context, s *Store, first bool, ready chan struct{}) error {
	conn, err := pgx.Connect(ctx, d.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	select {
	case <-ready:
	default:
		close(ready)
	}
	if !first {
		s.wakeDispatcher()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		schema, rest, _ := strings.Cut(n.Payload, " ")
		kind, from, _ := strings.Cut(rest, " ")
		if schema != d.schema || from == d.instance {
			continue
		}
		switch kind {
		case "deliveries":
			s.wakeDispatcher()
		case "keys":
			if err := s.reloadKeys(ctx); err != nil {
				slog.Warn("reload signing keys after another instance rotated them", "err", err)
			}
		}
	}
}
