package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// BenchmarkRefreshTokenVsBare puts POST /v1/tokens beside the least an
// endpoint of this stack can do: a bare Fiber app whose one handler inserts
// one row through GORM into a table shaped like link_tokens, on the same
// kind of database (a SQLite file, or a PostgreSQL schema when
// TOKENDESK_TEST_POSTGRES is set), driven by the same 32 connections. The
// two alternate round by round in one process, so a busy machine weighs
// on both alike; compare the medians, and the app's share of the bare
// figure:
//
//	go test ./web -run '^$' -bench RefreshTokenVsBare -benchtime 20000x
func BenchmarkRefreshTokenVsBare(b *testing.B) {
	for round := 1; round <= 3; round++ {
		b.Run(fmt.Sprintf("round=%d/app=tokendesk", round), func(b *testing.B) {
			ta, base := startServer(b, nil)
			ids := fillUsers(b, ta.Store(), models.Sandbox, 1_000)
			driveRefresh(b, ta, base, ids)
			ta.Shutdown(context.Background())
		})
		b.Run(fmt.Sprintf("round=%d/app=bare", round), func(b *testing.B) {
			base := startBare(b)
			drivePOST(b, func(i int) *http.Request {
				req, _ := http.NewRequestWithContext(context.Background(), "POST",
					fmt.Sprintf("%s/v1/tokens?userId=user-%d", base, i%1000), nil)
				return req
			})
		})
	}
}

// bareToken is link_tokens' row without what the app adds around it.
type bareToken struct {
	ID        string `gorm:"primaryKey"`
	Mode      string
	UserID    string
	TokenHash string
	Kid       string
	IssuedBy  string
	IssuedAt  int64
	ExpiresAt int64
}

// startBare serves the bare endpoint on a fresh database, tuned as the
// stack's notes advise and no further: on SQLite one writer connection in
// WAL (the setting that took a one-row insert endpoint from p99 0.5 s to
// 17 ms); on PostgreSQL a pool as large as the app's. GORM's own
// transaction around each insert is skipped and statements are prepared,
// as in the app.
func startBare(b *testing.B) string {
	b.Helper()
	where := modelstest.Database(b)
	var dialector gorm.Dialector
	pool := 32
	if models.IsPostgresURL(where) {
		dialector = postgres.Open(where)
	} else {
		dialector = sqlite.Open("file:" + where + "?_journal_mode=WAL&_busy_timeout=5000&_synchronous=NORMAL&_txlock=immediate")
		pool = 1
	}
	db, err := gorm.Open(dialector, &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true, PrepareStmt: true})
	if err != nil {
		b.Fatal(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		b.Fatal(err)
	}
	sqlDB.SetMaxOpenConns(pool)
	sqlDB.SetMaxIdleConns(pool)
	b.Cleanup(func() { sqlDB.Close() })
	for _, q := range []string{
		`CREATE TABLE bare_tokens (id TEXT PRIMARY KEY, mode TEXT NOT NULL, user_id TEXT NOT NULL,
			token_hash TEXT NOT NULL UNIQUE, kid TEXT NOT NULL, issued_by TEXT NOT NULL,
			issued_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)`,
		`CREATE INDEX bare_tokens_user ON bare_tokens(user_id, issued_at)`,
	} {
		if err := db.Exec(q).Error; err != nil {
			b.Fatal(err)
		}
	}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Post("/v1/tokens", func(c *fiber.Ctx) error {
		raw := make([]byte, 32)
		rand.Read(raw)
		sum := sha256.Sum256(raw)
		now := time.Now()
		t := bareToken{ID: "tok_" + hex.EncodeToString(raw[:12]), Mode: "SANDBOX", UserID: c.Query("userId"),
			TokenHash: hex.EncodeToString(sum[:]), Kid: "k1", IssuedBy: "bench",
			IssuedAt: now.UnixMilli(), ExpiresAt: now.Add(5 * time.Hour).UnixMilli()}
		if err := db.WithContext(c.UserContext()).Create(&t).Error; err != nil {
			return err
		}
		return c.Status(201).JSON(fiber.Map{"id": t.ID, "accessToken": hex.EncodeToString(raw)})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go app.Listener(ln)
	b.Cleanup(func() { app.Shutdown() })
	return "http://" + ln.Addr().String()
}
