package webhooks

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"tokendesk/models"
)

// Config tunes the dispatcher. Zero values take the defaults named.
type Config struct {
	Workers int // concurrent sends; 32
	// PerEndpoint caps the attempts to one endpoint this process sends at
	// once; DefaultPerEndpoint. A receiver that hangs until the timeout
	// then holds at most this many workers, and the others keep serving
	// every other endpoint. Claims are capped in proportion
	// (claimsPerWorker×PerEndpoint per endpoint, as claimsPerWorker×Workers
	// in all), so one endpoint's backlog cannot take all the claims either.
	// The cap is per process: several processes sharing the database each
	// apply their own, while the leases still keep any one delivery to one
	// process.
	PerEndpoint  int
	Lease        time.Duration   // how long a claim is ours; 9×Timeout+30s (120s), at least Timeout+5s
	Timeout      time.Duration   // per attempt, connect to last byte kept; 10s
	Schedule     []time.Duration // waits between automatic attempts; DefaultSchedule
	Jitter       float64         // ±fraction on each wait; DefaultJitter, negative for none
	Owner        string          // lease owner name, unique per process; host-pid-random
	PollInterval time.Duration   // longest sleep between looks at the queue; 1s
	Retention    time.Duration   // attempts older than this are pruned; 30 days, negative keeps all
	DisableAfter time.Duration   // an endpoint failing everything this long is disabled; 5 days
	// AllowedPrivate are address ranges deliveries may reach although the
	// SSRF guard would refuse them (self-hosters on an internal network).
	AllowedPrivate []netip.Prefix
	TLSConfig      *tls.Config // roots for receivers' certificates; system roots when nil
	UserAgent      string      // tokendesk-webhooks/1
	Logger         *slog.Logger
}

// DefaultPerEndpoint is how many attempts to one endpoint may be in flight.
const DefaultPerEndpoint = 8

// DefaultRetention is how long attempts are kept.
const DefaultRetention = 30 * 24 * time.Hour

// Batch bounds: one commit carries up to a few hundred deliveries under load.
const (
	maxClaimBatch  = 256
	maxRecordBatch = 256
	pruneEvery     = time.Hour
	// claimsPerWorker bounds what is claimed but not yet recorded. Deep
	// enough that each commit carries hundreds of deliveries under load
	// (8 deep, the dispatcher benchmark ran about a fifth slower). Behind
	// a slow receiver a claim may wait longer than its lease has left for
	// an attempt; send then gives it back instead of sending it, and it is
	// claimed again. The lease does not grow with the depth, so a crashed
	// process's claims are taken over as soon as before.
	claimsPerWorker = 32
	// leaseAttempts is how many attempt timeouts the default lease spans.
	leaseAttempts = 9
	// leaseMargin is kept free at the end of a lease for recording.
	leaseMargin = 2 * time.Second
)

func (c *Config) setDefaults() error {
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.PerEndpoint <= 0 {
		c.PerEndpoint = DefaultPerEndpoint
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Lease <= 0 {
		c.Lease = leaseAttempts*c.Timeout + 30*time.Second
	}
	if c.Lease < c.Timeout+5*time.Second {
		return fmt.Errorf("webhook dispatcher: lease %s must exceed the attempt timeout %s by at least 5s", c.Lease, c.Timeout)
	}
	if c.Schedule == nil {
		c.Schedule = DefaultSchedule
	}
	for _, d := range c.Schedule {
		if d <= 0 {
			return fmt.Errorf("webhook dispatcher: retry schedule holds %s; every wait must be positive", d)
		}
	}
	switch {
	case c.Jitter == 0:
		c.Jitter = DefaultJitter
	case c.Jitter < 0:
		c.Jitter = 0
	case c.Jitter >= 1:
		return fmt.Errorf("webhook dispatcher: jitter %.2f must be below 1", c.Jitter)
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.DisableAfter <= 0 {
		c.DisableAfter = models.DefaultDisableAfter
	}
	if c.Owner == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		rand.Read(b)
		c.Owner = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if c.UserAgent == "" {
		c.UserAgent = "tokendesk-webhooks/1"
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Dispatcher claims due deliveries, sends them with a pool of workers and
// records every attempt. One goroutine, the pump, does all the database
// work: each round it records what finished and claims what is due in one
// transaction, so the single SQLite writer commits once per round, not
// twice per delivery, and is never held by a goroutine waiting its turn.
type Dispatcher struct {
	store   *models.Store
	queue   *models.DispatchQueue
	cfg     Config
	backoff Backoff
	clients map[models.Mode]*client
	log     *slog.Logger

	wake    chan struct{} // new work was committed
	work    chan *models.Claim
	results chan result

	// outstanding counts claims not yet recorded or released; the pump
	// keeps it under claimsPerWorker×Workers.
	outstanding atomic.Int64
	gate        *endpointGate

	stopping    chan struct{}
	sendCtx     context.Context // cancelled when shutdown runs out of time
	cancelSends context.CancelFunc
	done        chan struct{}
	startOnce   sync.Once
	stopOnce    sync.Once
	started     atomic.Bool

	stats struct{ claimed, succeeded, failed, released, recordErrors atomic.Int64 }
}

type result struct {
	claim   *models.Claim
	res     models.AttemptResult
	release bool // never sent (shutdown): give the lease back
}

// Stats are the dispatcher's counters since it started, for metrics.
type Stats struct {
	Claimed, Succeeded, Failed, Released, RecordErrors, Outstanding int64
}

// New builds a dispatcher on store. Start it with Start, point
// store.OnDeliveriesQueued at Wake, and stop it with Shutdown.
func New(store *models.Store, cfg Config) (*Dispatcher, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	queue, err := store.OpenDispatchQueue(context.Background())
	if err != nil {
		return nil, err
	}
	capacity := claimsPerWorker * cfg.Workers
	d := &Dispatcher{
		store:   store,
		queue:   queue,
		cfg:     cfg,
		backoff: Backoff{Schedule: cfg.Schedule, Jitter: cfg.Jitter},
		clients: map[models.Mode]*client{
			models.Production: newClient(&Guard{Allowed: cfg.AllowedPrivate}, cfg),
			models.Sandbox:    newClient(&Guard{AllowLoopback: true, Allowed: cfg.AllowedPrivate}, cfg),
		},
		log:      cfg.Logger.With("component", "webhooks", "owner", cfg.Owner),
		wake:     make(chan struct{}, 1),
		work:     make(chan *models.Claim, capacity),
		gate:     newEndpointGate(cfg.PerEndpoint),
		results:  make(chan result, capacity),
		stopping: make(chan struct{}),
		done:     make(chan struct{}),
	}
	d.sendCtx, d.cancelSends = context.WithCancel(context.Background())
	return d, nil
}

// Owner is the name this dispatcher's leases carry.
func (d *Dispatcher) Owner() string { return d.cfg.Owner }

// Wake tells the dispatcher that deliveries were just committed. It never
// blocks: one pending wake-up is as good as many.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counters.
func (d *Dispatcher) Stats() Stats {
	return Stats{
		Claimed: d.stats.claimed.Load(), Succeeded: d.stats.succeeded.Load(), Failed: d.stats.failed.Load(),
		Released: d.stats.released.Load(), RecordErrors: d.stats.recordErrors.Load(),
		Outstanding: d.outstanding.Load(),
	}
}

// Start runs the dispatcher until Shutdown, or until ctx ends, which stops
// it at once (in-flight attempts are cut off and their leases released).
func (d *Dispatcher) Start(ctx context.Context) {
	d.startOnce.Do(func() {
		d.started.Store(true)
		go d.pump()
		for range d.cfg.Workers {
			go d.workLoop()
		}
		go d.pruneLoop()
		go func() {
			select {
			case <-ctx.Done():
				now, cancel := context.WithCancel(context.Background())
				cancel()
				d.Shutdown(now)
			case <-d.stopping:
			}
		}()
	})
}

// Shutdown stops claiming, lets in-flight attempts finish and records them
// until ctx ends, then cuts off what is left and releases its leases so
// another process can send those deliveries at once. Claims that were never
// started are released straight away. It returns ctx's error if it had to
// cut attempts off.
func (d *Dispatcher) Shutdown(ctx context.Context) error {
	d.stopOnce.Do(func() {
		close(d.stopping)
		if !d.started.Load() {
			d.queue.Close()
			close(d.done)
		}
	})
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		d.cancelSends()
		<-d.done
		return fmt.Errorf("webhook dispatcher shutdown: in-flight attempts cut off and released: %w", ctx.Err())
	}
}

func (d *Dispatcher) stopped() bool {
	select {
	case <-d.stopping:
		return true
	default:
		return false
	}
}

// dbCtx bounds the dispatcher's own database calls; they are not tied to
// shutdown's deadline, since recording what was sent matters most then.
func dbCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// pump is the only goroutine that writes deliveries. Each round it takes
// every finished result waiting, and in one transaction records them and,
// when there may be due work and room for it, claims more. It waits only
// when there is nothing to record and nothing to claim.
func (d *Dispatcher) pump() {
	capacity := int64(claimsPerWorker * d.cfg.Workers)
	timer := time.NewTimer(0)
	defer timer.Stop()
	look := true // whether due work may be waiting: at start, on wake-ups, on timers, after a full claim
	batch := make([]result, 0, maxRecordBatch)
	var held *result // a result taken while waiting
	// inFlight counts, per endpoint, the claims not yet recorded or
	// released, kept under claimCap. Only the pump touches it.
	inFlight := map[string]int{}
	claimCap := claimsPerWorker * d.cfg.PerEndpoint
	for {
		batch = batch[:0]
		if held != nil {
			batch, held = append(batch, *held), nil
		}
		batch = d.gather(batch)
		stopping := d.stopped()
		if stopping {
			batch = d.unstarted(batch)
		}
		// What is in batch is recorded before the claim, in the same
		// transaction, so its slots are free for that claim.
		for _, r := range batch {
			id := r.claim.Endpoint.ID
			if inFlight[id] >= claimCap {
				look = true // a full endpoint has a slot again: its due deliveries may wait
			}
			if inFlight[id]--; inFlight[id] <= 0 {
				delete(inFlight, id)
			}
		}
		free := capacity - d.outstanding.Load() + int64(len(batch))
		limit := 0
		if look && !stopping && free > 0 {
			limit = int(min(free, maxClaimBatch))
		}
		if len(batch) > 0 || limit > 0 {
			claims, more := d.exchange(batch, limit, inFlight, claimCap)
			d.outstanding.Add(int64(len(claims) - len(batch)))
			d.stats.claimed.Add(int64(len(claims)))
			for i := range claims {
				inFlight[claims[i].Endpoint.ID]++
				d.work <- &claims[i] // never blocks: outstanding ≤ capacity = cap(work)
			}
			if limit > 0 {
				look = more // a full claim: more may be due right now
			}
			continue
		}
		stop := d.stopping
		if stopping {
			if d.outstanding.Load() == 0 {
				d.close()
				return
			}
			stop = nil // already stopping: wait for the last results only
		} else if !look {
			d.resetTimer(timer, models.FullEndpoints(inFlight, claimCap))
		}
		select {
		case r := <-d.results:
			held = &r
		case <-d.wake:
			look = true
		case <-timer.C:
			look = true
		case <-stop:
		}
	}
}

// gather takes every finished result that is waiting, without blocking.
func (d *Dispatcher) gather(batch []result) []result {
	for len(batch) < maxRecordBatch {
		select {
		case r := <-d.results:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// unstarted turns claims still queued or parked at shutdown into lease
// releases.
func (d *Dispatcher) unstarted(batch []result) []result {
	for _, c := range d.gate.drain() {
		batch = append(batch, result{claim: c, release: true})
	}
	for {
		select {
		case c := <-d.work:
			batch = append(batch, result{claim: c, release: true})
		default:
			return batch
		}
	}
}

// resetTimer arms the timer for the next look at the queue: the poll
// interval, or sooner when a retry or an expired lease is due before that.
// Deliveries of full endpoints are left out: a freed slot is a result,
// which makes the pump look again.
func (d *Dispatcher) resetTimer(t *time.Timer, full []string) {
	wait := d.cfg.PollInterval
	if next := d.nextDue(full); next != nil {
		wait = min(wait, max(next.Sub(d.store.Now()), time.Millisecond))
	}
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(wait)
}

func (d *Dispatcher) close() {
	d.cancelSends()
	for _, c := range d.clients {
		c.closeIdle()
	}
	d.queue.Close()
	close(d.done)
}

func (d *Dispatcher) nextDue(full []string) *time.Time {
	ctx, cancel := dbCtx()
	defer cancel()
	next, err := d.store.NextDueAtExcept(ctx, full)
	if err != nil {
		d.log.Error("read next due delivery", "err", err)
		return nil
	}
	return next
}

// leaseCovers reports whether c's lease lasts through a whole attempt.
func (d *Dispatcher) leaseCovers(c *models.Claim) bool {
	exp := c.Delivery.LeaseExpiresAt
	return exp != nil && d.store.Now().Add(d.cfg.Timeout+leaseMargin).Before(*exp)
}

func (d *Dispatcher) workLoop() {
	var sg signer
	for {
		select {
		case <-d.stopping:
			return
		case c := <-d.work:
			if !d.gate.enter(c) {
				continue // parked: sent after an attempt to its endpoint ends
			}
			for ; c != nil; c = d.gate.leave(c.Endpoint.ID) {
				d.results <- d.send(c, &sg)
			}
			if d.stopped() {
				return
			}
		}
	}
}

// send makes the attempt of c, or gives c back when it must not be made.
func (d *Dispatcher) send(c *models.Claim, sg *signer) result {
	if d.stopped() || !d.leaseCovers(c) {
		// Stopping, or waited so long in the queue that the attempt could
		// outlive the lease, and another process could send it meanwhile.
		return result{claim: c, release: true}
	}
	return d.attempt(c, sg)
}

// exchange records a batch of outcomes, releases the leases of what was
// never sent and claims up to limit more, none of an endpoint that holds
// perEndpoint claims already, in one transaction; more reports a full claim. If the
// database refuses several times, the outcomes are dropped: their leases run
// out and the deliveries are sent again, a duplicate but never a loss.
func (d *Dispatcher) exchange(batch []result, limit int, inFlight map[string]int, perEndpoint int) (claims []models.Claim, more bool) {
	records := make([]models.AttemptResult, 0, len(batch))
	var release []string
	for _, r := range batch {
		if r.release {
			release = append(release, r.claim.Delivery.ID)
			continue
		}
		records = append(records, r.res)
		if r.res.Gone {
			d.log.Warn("receiver answered 410 Gone; disabling endpoint", "endpoint", r.claim.Endpoint.ID, "delivery", r.claim.Delivery.ID)
		}
	}
	want := models.ClaimRequest{Limit: limit, Lease: d.cfg.Lease, PerEndpoint: perEndpoint, InFlight: inFlight}
	var err error
	for try := 0; try < 3; try++ {
		ctx, cancel := dbCtx()
		claims, more, err = d.queue.Exchange(ctx, d.cfg.Owner, records, release, want)
		cancel()
		if err == nil {
			break
		}
		d.log.Error("record attempts and claim deliveries", "try", try+1, "err", err)
		time.Sleep(time.Duration(try+1) * 50 * time.Millisecond)
	}
	if err != nil {
		d.stats.recordErrors.Add(int64(len(records)))
		return nil, false
	}
	for _, r := range records {
		if r.Succeeded {
			d.stats.succeeded.Add(1)
		} else {
			d.stats.failed.Add(1)
		}
	}
	d.stats.released.Add(int64(len(release)))
	return claims, more
}

func (d *Dispatcher) pruneLoop() {
	if d.cfg.Retention < 0 {
		return
	}
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		d.Prune()
		select {
		case <-d.stopping:
			return
		case <-t.C:
		}
	}
}

// Prune deletes attempts older than the retention now; it also runs hourly.
func (d *Dispatcher) Prune() {
	if d.cfg.Retention < 0 {
		return
	}
	ctx, cancel := dbCtx()
	defer cancel()
	n, err := d.store.PruneAttempts(ctx, d.store.Now().Add(-d.cfg.Retention))
	if err != nil {
		d.log.Error("prune attempts", "err", err)
		return
	}
	if n > 0 {
		d.log.Info("pruned old attempts", "count", n, "retention", d.cfg.Retention.String())
	}
}
