package webhooks

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/trace"

	"tokendesk/models"
)

// Config tunes the dispatcher. Zero values take the defaults named.
type Config struct {
	// InFlight caps the attempts in flight at once, in all; DefaultInFlight.
	// Each is a goroutine waiting on its receiver, cheap enough that the
	// budget is set by what receivers and the database can take, not by
	// threads: at 100 ms an answer, 1,000 in flight is 10,000 a second.
	InFlight int
	// PerEndpoint caps the attempts to one endpoint in flight at once,
	// unless the endpoint sets its own (MaxInFlight); DefaultPerEndpoint.
	// A receiver that hangs until the timeout then holds at most this
	// many of the budget, and every other endpoint keeps being served.
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
	// Proxy, when set, is an HTTP CONNECT proxy every delivery is
	// tunnelled through (see proxyDialer for what the guard checks then).
	Proxy     *url.URL
	UserAgent string // tokendesk-webhooks/1
	Logger    *slog.Logger
	// OnAttempt, when set, is told of every attempt that reached its end:
	// the mode, the outcome ("succeeded", "failed": the receiver answered
	// otherwise, "error": no answer) and how long it took.
	OnAttempt func(mode models.Mode, outcome string, took time.Duration)
	// Tracer, when set, gives each attempt a client span, and the request
	// carries it in traceparent so the receiver's trace can continue ours.
	Tracer trace.Tracer
}

// Defaults of the concurrency limits.
const (
	DefaultInFlight    = 1000
	DefaultPerEndpoint = 64
)

// DefaultRetention is how long attempts are kept.
const DefaultRetention = 30 * 24 * time.Hour

// Batch bounds: one commit carries up to a few hundred deliveries under load.
const (
	maxClaimBatch  = 256
	maxRecordBatch = 256
	pruneEvery     = time.Hour
	// leaseAttempts is how many attempt timeouts the default lease spans.
	leaseAttempts = 9
	// leaseMargin is kept free at the end of a lease for recording.
	leaseMargin = 2 * time.Second
	// Recording that fails (database full or unavailable) is tried again
	// after these waits, doubling, while claiming pauses.
	recordRetryFirst = 100 * time.Millisecond
	recordRetryMax   = 5 * time.Second
	// A round that would record fewer than minRoundUnderLoad results, and
	// fewer than the attempts still in flight, waits up to roundGather for
	// more (see pump).
	minRoundUnderLoad = 64
	roundGather       = time.Millisecond
)

func (c *Config) setDefaults() error {
	if c.InFlight <= 0 {
		c.InFlight = DefaultInFlight
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

// Dispatcher claims due deliveries, sends each on a goroutine of its own
// and records every attempt. One goroutine, the pump, does all the database
// work: each round it claims what is due and records what finished, in one
// transaction or, when it has both to do, two (the claim first, see pump),
// so the single SQLite writer commits once or twice per round, not twice
// per delivery, and is never held by a goroutine waiting its turn.
// A claim is sent as soon as it is made: what limits how many go out is
// the in-flight budget and each endpoint's limits (see endpoints), applied
// when claiming, so nothing waits in memory for its turn.
type Dispatcher struct {
	store   *models.Store
	queue   *models.DispatchQueue
	cfg     Config
	backoff Backoff
	clients map[models.Mode]*client
	log     *slog.Logger
	signers sync.Pool // *signer, one per attempt at a time

	wake    chan struct{} // new work was committed
	results chan result

	// outstanding counts claims not yet recorded or released, sending
	// those whose attempt has not ended. The pump keeps sending under
	// cfg.InFlight, the budget, and outstanding under twice that: an
	// attempt's slot frees when it ends, not a round later when it is
	// recorded, which at 100 ms an answer was a fifth of the throughput.
	outstanding atomic.Int64
	sending     atomic.Int64
	endpoints   *endpoints // only the pump touches it

	stopping    chan struct{}
	sendCtx     context.Context // cancelled when shutdown runs out of time
	cancelSends context.CancelFunc
	done        chan struct{}
	startOnce   sync.Once
	stopOnce    sync.Once
	started     atomic.Bool

	stats struct {
		claimed, succeeded, failed, released, recordErrors atomic.Int64
	}
}

type result struct {
	claim   *models.Claim
	res     models.AttemptResult
	release bool // never sent (shutdown): give the lease back
	counted bool // its endpoint's slot was freed
	// throttled: the receiver answered 429 or 503, asking to wait this long
	// (0 when it did not say).
	throttled bool
	wait      time.Duration
}

// Stats are the dispatcher's counters since it started, for metrics.
// RecordErrors counts failed tries to record a round; nothing is dropped.
type Stats struct {
	Claimed, Succeeded, Failed, Released, RecordErrors, Outstanding int64
}

// New builds a dispatcher on store. Start it with Start, point
// store.OnDeliveriesQueued at Wake, and stop it with Shutdown.
func New(store *models.Store, cfg Config) (*Dispatcher, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	prod, err := newClient(&Guard{Allowed: cfg.AllowedPrivate}, cfg)
	if err != nil {
		return nil, err
	}
	sandbox, err := newClient(&Guard{AllowLoopback: true, Allowed: cfg.AllowedPrivate}, cfg)
	if err != nil {
		return nil, err
	}
	queue, err := store.OpenDispatchQueue(context.Background())
	if err != nil {
		return nil, err
	}
	d := &Dispatcher{
		store:     store,
		queue:     queue,
		cfg:       cfg,
		backoff:   Backoff{Schedule: cfg.Schedule, Jitter: cfg.Jitter},
		clients:   map[models.Mode]*client{models.Production: prod, models.Sandbox: sandbox},
		log:       cfg.Logger.With("component", "webhooks", "owner", cfg.Owner),
		signers:   sync.Pool{New: func() any { return &signer{} }},
		wake:      make(chan struct{}, 1),
		results:   make(chan result, 2*cfg.InFlight),
		endpoints: newEndpoints(cfg.PerEndpoint),
		stopping:  make(chan struct{}),
		done:      make(chan struct{}),
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
// another process can send those deliveries at once. It returns ctx's
// error if it had to cut attempts off.
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
// every finished result waiting, records them and, when there may be due
// work and room for it, claims more. It waits only when there is nothing to
// record and nothing to claim.
//
// When a round has both, the claim is a transaction of its own, committed
// and sent before the results are recorded: a slot an attempt freed is
// filled again without waiting for the recording, the longer of the two
// (it inserts the attempts and moves every delivery on). With one receiver
// and 32 attempts in flight, recording and claiming together held each
// freed slot for the whole round, and the sends and the database took
// turns instead of overlapping: about 7,400 deliveries a second against
// 10,000 with the claim first (BenchmarkDispatcher, medians of interleaved
// runs), for one more commit a round.
//
// When recording fails (the database is full, locked or gone), the round's
// results are kept with their claims and tried again with growing waits;
// claiming pauses meanwhile. The claims stay outstanding, so none of those
// deliveries is claimed, or sent, again before its attempt is recorded.
func (d *Dispatcher) pump() {
	capacity := int64(d.cfg.InFlight)
	timer := time.NewTimer(0)
	defer timer.Stop()
	look := true // whether due work may be waiting: at start, on wake-ups, on timers, after a full claim
	batch := make([]result, 0, maxRecordBatch)
	var held *result    // a result taken while waiting
	failures := 0       // recording tries failed in a row
	var retry time.Time // when recording is tried again after a failure
	gatherTimer := time.NewTimer(roundGather)
	gatherTimer.Stop()
	defer gatherTimer.Stop()
	for {
		if held != nil {
			batch, held = append(batch, *held), nil
		}
		batch = d.gather(batch)
		if n := int64(len(batch)); n > 0 && n < minRoundUnderLoad && n < d.sending.Load() {
			// Under load a round's fixed costs (its transactions, each
			// endpoint's health and last success) are paid per round, and
			// claiming the one slot a result frees makes rounds of one:
			// while fewer attempts have come back than are still in
			// flight, a moment's wait lets more join this round. It ends
			// as soon as they have: a fixed sleep kept the freed slots
			// empty to its end.
			batch = d.gatherFor(batch, gatherTimer)
		}
		stopping := d.stopped()
		if failures > 0 && stopping && d.sendCtx.Err() != nil {
			// Shutdown ran out of time with the database still refusing:
			// what was not recorded is given up; those leases run out and
			// the deliveries are sent again, a duplicate but never a loss.
			d.log.Error("shutdown with attempts not recorded; their deliveries will be sent again", "count", len(batch))
			d.outstanding.Add(-int64(len(batch)))
			batch = batch[:0]
			if d.outstanding.Load() == 0 {
				d.close()
				return
			}
		}
		waiting := failures > 0 && time.Now().Before(retry)
		limit := 0
		if look && !stopping && failures == 0 {
			free := min(capacity-d.sending.Load(), 2*capacity-d.outstanding.Load()+int64(len(batch)))
			if free > 0 {
				limit = int(min(free, maxClaimBatch))
			}
		}
		if !waiting && (len(batch) > 0 || limit > 0) {
			var err error
			if limit > 0 && len(batch) > 0 {
				// The claim goes first, on its own (see above).
				var claims []models.Claim
				var more bool
				if claims, more, err = d.exchange(nil, limit); err == nil {
					d.launch(claims, 0)
					look, limit = more, 0
				}
			}
			var claims []models.Claim
			var more bool
			if err == nil {
				claims, more, err = d.exchange(batch, limit)
			}
			if err != nil {
				failures++
				wait := min(recordRetryFirst<<min(failures-1, 10), recordRetryMax)
				retry = time.Now().Add(wait)
				d.stats.recordErrors.Add(1)
				d.log.Error("record attempts and claim deliveries; claiming paused, recording tried again",
					"try", failures, "attempts", len(batch), "retry_in", wait.String(), "err", err)
				continue
			}
			if failures > 0 {
				d.log.Info("recording works again", "after_tries", failures)
				failures = 0
			}
			d.launch(claims, len(batch))
			batch = batch[:0]
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
		}
		switch {
		case failures > 0:
			resetTimer(timer, time.Until(retry))
		case !look:
			d.armTimer(timer)
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

// launch sends claims, each on a goroutine of its own; recorded results
// left the pump's count of outstanding claims in the same round.
func (d *Dispatcher) launch(claims []models.Claim, recorded int) {
	d.outstanding.Add(int64(len(claims) - recorded))
	d.sending.Add(int64(len(claims)))
	d.stats.claimed.Add(int64(len(claims)))
	for i := range claims {
		go d.run(&claims[i])
	}
}

// gatherFor waits up to roundGather for results to join batch, until the
// round is worth its fixed costs (see pump), and then takes every other
// result waiting.
func (d *Dispatcher) gatherFor(batch []result, t *time.Timer) []result {
	t.Reset(roundGather)
	defer t.Stop()
	for n := int64(len(batch)); n < minRoundUnderLoad && n < d.sending.Load(); n++ {
		select {
		case r := <-d.results:
			d.finished(&r)
			batch = append(batch, r)
		case <-t.C:
			return d.gather(batch)
		}
	}
	return d.gather(batch)
}

// gather takes every finished result that is waiting, without blocking,
// and frees its endpoint's slot.
func (d *Dispatcher) gather(batch []result) []result {
	for i := range batch {
		if !batch[i].counted {
			d.finished(&batch[i])
		}
	}
	for len(batch) < maxRecordBatch {
		select {
		case r := <-d.results:
			d.finished(&r)
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

// finished frees r's slot at its endpoint and applies what the answer says
// about the endpoint's pace.
func (d *Dispatcher) finished(r *result) {
	r.counted = true
	d.endpoints.finished(r.claim.Endpoint.ID, r, d.store.Now())
}

// armTimer arms the timer for the next look at the queue: the poll
// interval, or sooner when a retry, an expired lease or an endpoint's
// pause or rate slot is due before that. Deliveries of endpoints held back
// are left out of the look at the queue: a freed slot is a result, which
// makes the pump look again.
func (d *Dispatcher) armTimer(t *time.Timer) {
	now := d.store.Now()
	held, until := d.endpoints.heldBack(now)
	wait := d.cfg.PollInterval
	if next := d.nextDue(held); next != nil {
		wait = min(wait, next.Sub(now))
	}
	if !until.IsZero() {
		wait = min(wait, until.Sub(now))
	}
	resetTimer(t, max(wait, time.Millisecond))
}

func resetTimer(t *time.Timer, wait time.Duration) {
	if !t.Stop() {
		select {
		case <-t.C:
		default:
		}
	}
	t.Reset(max(wait, time.Millisecond))
}

func (d *Dispatcher) close() {
	d.cancelSends()
	for _, c := range d.clients {
		c.closeIdle()
	}
	d.queue.Close()
	close(d.done)
}

func (d *Dispatcher) nextDue(except []string) *time.Time {
	ctx, cancel := dbCtx()
	defer cancel()
	next, err := d.store.NextDueAtExcept(ctx, except)
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

// run sends one claim on its own goroutine and hands the result to the pump.
func (d *Dispatcher) run(c *models.Claim) {
	sg := d.signers.Get().(*signer)
	r := d.send(c, sg)
	d.signers.Put(sg)
	d.sending.Add(-1)
	d.results <- r // never blocks: outstanding ≤ 2×InFlight = cap(results)
	// A slot is free, in the budget and at the endpoint: deliveries held
	// back by either may be claimed now, even if the last claim found
	// nothing else due.
	d.Wake()
}

// send makes the attempt of c, or gives c back when it must not be made.
func (d *Dispatcher) send(c *models.Claim, sg *signer) result {
	if d.stopped() || !d.leaseCovers(c) {
		// Stopping, or the claim came too late in its lease: the attempt
		// could outlive it, and another process send it meanwhile.
		return result{claim: c, release: true}
	}
	return d.attempt(c, sg)
}

// exchange records a batch of outcomes, releases the leases of what was
// never sent and claims up to limit more, within every endpoint's limits,
// in one transaction; more reports a full claim.
func (d *Dispatcher) exchange(batch []result, limit int) (claims []models.Claim, more bool, err error) {
	records := make([]models.AttemptResult, 0, len(batch))
	var release []string
	for _, r := range batch {
		if r.release {
			release = append(release, r.claim.Delivery.ID)
			continue
		}
		records = append(records, r.res)
	}
	want := models.ClaimRequest{Limit: limit, Lease: d.cfg.Lease}
	if limit > 0 {
		now := d.store.Now()
		want.Exclude, _ = d.endpoints.heldBack(now)
		want.Admit = func(ep *models.WebhookEndpoint) models.Admission { return d.endpoints.admit(ep, now) }
	}
	ctx, cancel := dbCtx()
	claims, more, err = d.queue.Exchange(ctx, d.cfg.Owner, records, release, want)
	cancel()
	if err != nil {
		if limit > 0 {
			d.endpoints.unadmit() // the claim was rolled back with the rest
		}
		return nil, false, err
	}
	d.endpoints.admitted()
	for _, r := range batch {
		switch {
		case r.release:
		case r.res.Succeeded:
			d.stats.succeeded.Add(1)
		default:
			d.stats.failed.Add(1)
		}
		if r.res.Gone {
			d.log.Warn("receiver answered 410 Gone; disabling endpoint", "endpoint", r.claim.Endpoint.ID, "delivery", r.claim.Delivery.ID)
		}
	}
	d.stats.released.Add(int64(len(release)))
	return claims, more, nil
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
