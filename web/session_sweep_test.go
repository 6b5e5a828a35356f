package web

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"tokendesk/models"
)

func TestTheAppSweepsEndedSessionsAtStart(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DBPath = filepath.Join(t.TempDir(), "sweep.db")
	cfg.AdminEmail, cfg.AdminPassword = testAdminEmail, testAdminPassword
	s, err := models.Open(models.Options{Path: cfg.DBPath, TenantID: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	op, err := s.CreateOperator(t.Context(), "old@example.com", testPassword, models.RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	long := time.Now().Add(-30 * 24 * time.Hour)
	if err := s.W.Create(&models.Session{ID: "ended-long-ago", OperatorID: op.ID, Mode: models.Sandbox, CSRFToken: "x",
		CreatedAt: long, LastSeenAt: long, ExpiresAt: long.Add(time.Hour)}).Error; err != nil {
		t.Fatal(err)
	}
	s.Close()

	a, err := New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var left int64 = 1
	for deadline := time.Now().Add(5 * time.Second); left > 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		a.store.R.Model(&models.Session{}).Where("id = 'ended-long-ago'").Count(&left)
	}
	if left != 0 {
		t.Fatal("the session that ended a month ago is still there")
	}
	t.Run("shutting down stops the sweeper before the database closes", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	})
}
