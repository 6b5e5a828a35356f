// Package web assembles tokendesk: configuration, the database, the Fiber
// app with its middleware and route table, and the background workers.
package web

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"tokendesk/handlers/api"
	"tokendesk/handlers/console"
	"tokendesk/models"
	"tokendesk/webhooks"
)

// App is one running tokendesk.
type App struct {
	cfg   Config
	log   *slog.Logger
	store *models.Store
	fiber *fiber.App
	api   *api.Handler

	tls     *tls.Config // nil unless --tls-cert and --tls-key are set
	metrics *metrics    // nil without --metrics
	tracer  *tracer

	dispatcher *webhooks.Dispatcher
	stopWork   context.CancelFunc
	swept      chan struct{} // closed when the retention worker has stopped
	reqlog     *requestLog
	console    *console.Handler
	firstAdmin *firstAdmin // set on the first start, printed once by the banner
}

// New opens the database and builds the app; nothing listens yet.
func New(cfg Config, log *slog.Logger) (*App, error) {
	tlsConfig, err := loadTLS(cfg)
	if err != nil {
		return nil, err
	}
	store, err := models.Open(models.Options{Path: cfg.DBPath, TenantID: cfg.TenantID, TokenTTL: cfg.TokenTTL, SecretKeyFile: cfg.SecretKeyFile})
	if err != nil {
		return nil, err
	}
	for _, w := range store.Warnings {
		log.Warn(w)
	}
	if store.SecretKeyCreated {
		log.Warn("created the master key that seals secrets at rest; keep a copy apart from the database backups: without it the secrets cannot be read", "file", store.SecretKeyFile)
	}
	tr, err := newTracer(cfg.TracerProvider, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	store.AllowPrivate = cfg.AllowPrivate
	a := &App{cfg: cfg, log: log, store: store, tls: tlsConfig, tracer: tr, api: &api.Handler{Store: store, Log: log}}
	var onAttempt func(models.Mode, string, time.Duration)
	if cfg.Metrics {
		a.metrics = newMetrics(a)
		onAttempt = a.metrics.observeAttempt
		store.ObserveWrite = a.metrics.observeWrite
	}
	a.dispatcher, err = webhooks.New(store, webhooks.Config{
		OnAttempt: onAttempt, Tracer: tr.webhookTracer(),
		InFlight: cfg.WebhookInFlight, PerEndpoint: cfg.WebhookPerEndpoint, Timeout: cfg.WebhookTimeout,
		// The lease outlives the longest attempt with room for recording it;
		// after a crash, another process takes the deliveries over once it ends.
		Lease:    cfg.WebhookTimeout + 15*time.Second,
		Schedule: cfg.WebhookRetries, AllowedPrivate: cfg.AllowPrivate, Proxy: cfg.WebhookProxy, Logger: log,
		// Attempts are pruned by the retention worker (pruneLoop), with
		// --retain-attempts, like every other kind of record.
		Retention: -1,
	})
	if err != nil {
		store.Close()
		return nil, err
	}
	// A committed user with deliveries wakes the dispatcher at once.
	store.OnDeliveriesQueued = a.dispatcher.Wake
	var workCtx context.Context
	workCtx, a.stopWork = context.WithCancel(context.Background())
	a.dispatcher.Start(workCtx)
	a.swept = make(chan struct{})
	go a.pruneLoop(workCtx, time.Hour)
	a.reqlog = newRequestLog(store, log)
	fcfg := fiber.Config{
		AppName:               "tokendesk",
		BodyLimit:             api.MaxBodyBytes,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		DisableStartupMessage: true,
		ErrorHandler:          a.handleError,
	}
	fiberProxyConfig(&fcfg, cfg.TrustedProxies)
	a.fiber = fiber.New(fcfg)
	if err := a.setupConsole(); err != nil {
		a.dispatcher.Shutdown(context.Background())
		a.stopWork()
		<-a.swept
		a.reqlog.close()
		store.Close()
		return nil, err
	}
	a.routes()
	return a, nil
}

// Fiber returns the HTTP app, for tests that call it without a listener.
func (a *App) Fiber() *fiber.App { return a.fiber }

// Store returns the app's store.
func (a *App) Store() *models.Store { return a.store }

// Serve answers requests on ln until Shutdown.
func (a *App) Serve(ln net.Listener) error {
	ln = newLingerListener(ln)
	if a.tls != nil {
		ln = tls.NewListener(ln, a.tls)
	}
	return a.fiber.Listener(ln)
}

// Shutdown stops accepting connections, lets in-flight requests finish
// until ctx ends, stops the workers and closes the database.
func (a *App) Shutdown(ctx context.Context) error {
	err := a.fiber.ShutdownWithContext(ctx)
	// In-flight attempts finish or give their leases back, so another
	// process (or the next start) can take them over at once.
	if derr := a.dispatcher.Shutdown(ctx); err == nil {
		err = derr
	}
	a.stopWork()
	<-a.swept        // a prune in progress stops between batches before the database closes
	a.reqlog.close() // requests answered so far are in the log
	if cerr := a.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// handleError is the one place errors become responses: the API's envelope
// under /v1, a page elsewhere.
func (a *App) handleError(c *fiber.Ctx, err error) error {
	if c.Locals(api.LocalRequestID) == nil {
		// Refused before any middleware ran (a body over the limit):
		// the answer still carries a request id.
		setRequestID(c)
	}
	if strings.HasPrefix(c.Path(), "/v1/") || c.Path() == "/v1" {
		return api.WriteError(c, a.log, err)
	}
	code := fiber.StatusInternalServerError
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code = fe.Code
	} else {
		a.log.Error("request failed", "request_id", c.Locals(api.LocalRequestID), "path", c.Path(), "error", err)
	}
	return a.console.ErrorPage(c, code)
}

// Run serves until ctx is cancelled, then shuts down gracefully.
func Run(ctx context.Context, cfg Config, log *slog.Logger, banner func(a *App, addr string)) error {
	a, err := New(cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		a.Shutdown(context.Background())
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if banner != nil {
		banner(a, ln.Addr().String())
	}
	served := make(chan error, 1)
	go func() { served <- a.Serve(ln) }()
	select {
	case err := <-served:
		a.Shutdown(context.Background())
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := a.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}
