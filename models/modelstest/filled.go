package modelstest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"tokendesk/models"
)

// Filled is a SQLite database written through the store with some of
// everything, and what a test needs to find it again after a move.
type Filled struct {
	Path, KeyFile string
	TenantID      string

	EndpointID             string // SANDBOX, its secret in rotation
	Secret, PreviousSecret string
	Token                  string // a link token issued before the signing key was rotated
	APIKey, APISecret      string // a SANDBOX key that authenticates
	OperatorEmail          string // an admin with two-factor sign-in on
	Password               string
}

// FilledSQLite makes a SQLite file (whatever the test database is) holding
// operators (one with two-factor sign-in, recovery codes and a login
// challenge; one disabled), a session, API keys (one revoked), endpoints of
// both modes (one with its secret in rotation), users of both modes with
// metadata and link tokens, deliveries claimed and attempted (succeeded,
// failed and pending), a rotated signing key, an audit entry and logged API
// requests. The store is closed when it returns.
func FilledSQLite(tb testing.TB, users int) *Filled {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	f := &Filled{Path: filepath.Join(dir, "source.db"), KeyFile: filepath.Join(dir, "source.key"),
		OperatorEmail: "admin@example.com", Password: "correct horse battery staple"}
	s, err := models.Open(models.Options{Path: f.Path, TenantID: "acme", SecretKeyFile: f.KeyFile})
	if err != nil {
		tb.Fatalf("open the source: %v", err)
	}
	defer s.Close()
	f.TenantID = s.TenantID
	must := func(what string, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatalf("%s: %v", what, err)
		}
	}

	op, err := s.CreateOperator(ctx, f.OperatorEmail, f.Password, models.RoleAdmin)
	must("create operator", err)
	enrol, err := s.BeginTOTP(ctx, op)
	must("begin two-factor", err)
	code, err := totp.GenerateCode(enrol.Secret, s.Now())
	must("make a code", err)
	_, err = s.ConfirmTOTP(ctx, op, code)
	must("confirm two-factor", err)
	_, err = s.StartLoginChallenge(ctx, op, "/users")
	must("start a login challenge", err)
	_, sess, err := s.CreateSession(ctx, op, "192.0.2.1", "test", time.Hour)
	must("create a session", err)
	// A form's result waiting for its redirect, and a wrong password
	// counted: short-lived, but rows all the same.
	_, err = s.PutOnce(ctx, models.OnceEntry{SessionID: sess.ID, FlashKind: "ok", FlashText: "Created",
		SecretType: "string", Secret: []byte(`"a secret shown once"`), ExpiresAt: s.Now().Add(10 * time.Minute)})
	must("put a show-once entry", err)
	keys := []models.ThrottleKey{{Key: "e|192.0.2.1|admin@example.com", Free: 3}}
	_, err = s.BeginLoginTry(ctx, keys)
	must("begin a sign-in try", err)
	_, err = s.FailLoginTry(ctx, keys)
	must("fail a sign-in try", err)
	_, err = s.CreateOperator(ctx, "Support@Example.com", f.Password, models.RoleSupport)
	must("create operator", err)
	_, err = s.DisableOperator(ctx, "Support@Example.com")
	must("disable operator", err)

	k, err := s.CreateAPIKey(ctx, models.Sandbox, "app", "test")
	must("create API key", err)
	f.APIKey, f.APISecret = k.Key, k.Secret
	old, err := s.CreateAPIKey(ctx, models.Production, "old", "test")
	must("create API key", err)
	_, err = s.RevokeAPIKey(ctx, models.Production, old.Key)
	must("revoke API key", err)

	str := func(v string) *string { return &v }
	yes, no := true, false
	ep, err := s.CreateWebhookEndpoint(ctx, models.Sandbox, models.WebhookInput{Name: str("Orders"), URL: str("http://localhost/a"),
		EventTypes: []string{"USER_CREATED"}, Active: &yes, IncludePayload: &yes, Secret: str("the first secret")})
	must("create endpoint", err)
	ep, err = s.RotateWebhookSecret(ctx, models.Sandbox, ep.ID, "")
	must("rotate endpoint secret", err)
	f.EndpointID, f.Secret, f.PreviousSecret = ep.ID, ep.Secret, ep.PreviousSecret
	_, err = s.CreateWebhookEndpoint(ctx, models.Production, models.WebhookInput{Name: str("Paused"), URL: str("https://example.com/p"),
		EventTypes: []string{"USER_CREATED"}, Active: &no, IncludePayload: &no, Secret: str("a production secret")})
	must("create endpoint", err)

	var firstUser string
	for i := range users {
		m := models.Sandbox
		if i%5 == 4 {
			m = models.Production
		}
		u, err := s.CreateUser(ctx, m, models.Metadata{"plan": "pro", "email": fmt.Sprintf("u%d@example.com", i)}, "test")
		must("create user", err)
		if firstUser == "" && m == models.Sandbox {
			firstUser = u.User.ID
		}
		if f.Token == "" && u.Token != nil {
			f.Token = u.Token.AccessToken
		}
	}
	claims, err := s.ClaimDue(ctx, "w", 100, time.Minute)
	must("claim deliveries", err)
	var results []models.AttemptResult
	retry := s.Now().Add(time.Hour)
	for i := range claims {
		c := &claims[i]
		if i%3 == 2 {
			continue // left claimed
		}
		status := 200
		if i%3 == 1 {
			status = 500
		}
		results = append(results, models.AttemptResult{Claim: c, Succeeded: status == 200, RetryAt: &retry,
			Attempt: models.Attempt{DeliveryID: c.Delivery.ID, Mode: c.Delivery.Mode, Number: c.Number,
				Trigger: c.Trigger, URL: c.Endpoint.URL, RequestHeaders: map[string]string{"Webhook-Id": c.Delivery.EventID},
				RequestBody: string(c.Payload), BodyIsPayload: true, ResponseStatus: status, ResponseBody: "ok é",
				ResponseHeaders: map[string]string{"Content-Type": "text/plain"}, StartedAt: s.Now(), DurationMS: 3}})
	}
	must("record attempts", s.RecordAttempts(ctx, "w", results))
	_, err = s.RotateSigningKey(ctx, models.Sandbox)
	must("rotate signing key", err)
	must("audit", s.Audit(ctx, models.AuditEntry{OperatorID: op.ID, OperatorEmail: op.Email, Action: "user.create", Mode: models.Sandbox}))
	must("log API requests", s.RecordAPIRequests(ctx, []models.APIRequest{{ID: "req-1", Mode: models.Sandbox, APIKeyID: k.ID, APIKey: k.Key,
		UserID: firstUser, Method: "POST", Path: "/v1/users", Status: 201, DurationUS: 1200, RequestBody: `{"x":1}`, IP: "192.0.2.1", CreatedAt: s.Now()},
		{ID: "req-2", Mode: models.Sandbox, APIKeyID: k.ID, APIKey: k.Key, Method: "POST", Path: "/v1/tokens", UserID: firstUser,
			Status: 201, DurationUS: 900, IP: "192.0.2.1", CreatedAt: s.Now()}}))
	must("index the request log's users", s.IndexRequestUsers(ctx))
	return f
}
