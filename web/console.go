package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"

	"tokendesk/handlers/console"
	"tokendesk/models"
	"tokendesk/static"
)

// firstAdmin is the admin made on the first start, kept only until the
// banner has printed the credentials once.
type firstAdmin struct {
	Email, Password string
	FromEnv         bool // the password came from configuration and is not printed
}

// setupConsole builds the console's handlers and, when there is no operator
// yet, creates the first admin.
func (a *App) setupConsole() error {
	assets, err := static.Load()
	if err != nil {
		return fmt.Errorf("load static assets: %w", err)
	}
	a.console = console.New(console.Options{Store: a.store, Log: a.log, SessionIdle: a.cfg.SessionIdle, Assets: assets})
	a.firstAdmin, err = ensureFirstAdmin(context.Background(), a.store, a.cfg)
	return err
}

// ensureFirstAdmin creates an admin when the database has no operator, with
// the configured email and password or admin@localhost and a random password.
func ensureFirstAdmin(ctx context.Context, s *models.Store, cfg Config) (*firstAdmin, error) {
	has, err := s.HasOperators(ctx)
	if err != nil || has {
		return nil, err
	}
	fa := &firstAdmin{Email: cfg.AdminEmail, Password: cfg.AdminPassword, FromEnv: cfg.AdminPassword != ""}
	if fa.Email == "" {
		fa.Email = "admin@localhost"
	}
	if fa.Password == "" {
		b := make([]byte, 15)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		fa.Password = base64.RawURLEncoding.EncodeToString(b)
	}
	if _, err := s.CreateOperator(ctx, fa.Email, fa.Password, models.RoleAdmin); err != nil {
		// Instances starting together on one PostgreSQL database all find
		// no operator; the first to commit makes the admin, and for the
		// others that is no failure.
		if e, ok := models.AsError(err); ok && e.Code == models.CodeConflict {
			if has, herr := s.HasOperators(ctx); herr == nil && has {
				return nil, nil
			}
		}
		return nil, fmt.Errorf("create the first admin (TOKENDESK_ADMIN_EMAIL / TOKENDESK_ADMIN_PASSWORD): %w", err)
	}
	return fa, nil
}
