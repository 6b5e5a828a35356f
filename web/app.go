// Package web assembles tokendesk: configuration, the database, the Fiber
// app with its middleware and route table, and the background workers.
package web

import (
	"context"
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

	requests requestCounts // for /metrics
	started  time.Time

	dispatcher *webhooks.Dispatcher
	stopWork   context.CancelFunc
	swept      chan struct{} // closed when the session sweeper has stopped
	console    *console.Handler
	firstAdmin *firstAdmin // set on the first start, printed once by the banner
}

// New opens the database and builds the app; nothing listens yet.
func New(cfg Config, log *slog.Logger) (*App, error) {
	store, err := models.Open(models.Options{Path: cfg.DBPath, TenantID: cfg.TenantID, TokenTTL: cfg.TokenTTL})
	if err != nil {
		return nil, err
	}
	store.AllowPrivate = cfg.AllowPrivate
	a := &App{cfg: cfg, log: log, store: store, api: &api.Handler{Store: store, Log: log}, started: time.Now()}
	a.dispatcher, err = webhooks.New(store, webhooks.Config{
		InFlight: cfg.WebhookInFlight, PerEndpoint: cfg.WebhookPerEndpoint, Timeout: cfg.WebhookTimeout,
		// The lease outlives the longest attempt with room for recording it;
		// after a crash, another process takes the deliveries over once it ends.
		Lease:    cfg.WebhookTimeout + 15*time.Second,
		Schedule: cfg.WebhookRetries, AllowedPrivate: cfg.AllowPrivate, Proxy: cfg.WebhookProxy, Logger: log,
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
	go a.sweepSessions(workCtx, time.Hour)
	a.fiber = fiber.New(fiber.Config{
		AppName:               "tokendesk",
		BodyLimit:             api.MaxBodyBytes,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          60 * time.Second,
		IdleTimeout:           120 * time.Second,
		DisableStartupMessage: true,
		ErrorHandler:          a.handleError,
	})
	if err := a.setupConsole(); err != nil {
		a.dispatcher.Shutdown(context.Background())
		a.stopWork()
		<-a.swept
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
func (a *App) Serve(ln net.Listener) error { return a.fiber.Listener(ln) }

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
	<-a.swept // a sweep in progress finishes before the database closes
	if cerr := a.store.Close(); err == nil {
		err = cerr
	}
	return err
}

// sweepSessions deletes long-ended sessions at start and then every period,
// until ctx ends.
func (a *App) sweepSessions(ctx context.Context, period time.Duration) {
	defer close(a.swept)
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		if n, err := a.store.SweepSessions(ctx, a.store.Now()); err != nil && ctx.Err() == nil {
			a.log.Error("session sweep failed", "error", err)
		} else if n > 0 {
			a.log.Info("deleted ended sessions", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// handleError is the one place errors become responses: the API's envelope
// under /v1, a page elsewhere.
func (a *App) handleError(c *fiber.Ctx, err error) error {
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
