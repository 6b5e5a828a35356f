package web

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"tokendesk/models"
)

// scenario is one API request and what its answer must be.
type scenario struct {
	name     string
	method   string
	path     string
	creds    string // "sandbox", "production", "" or a literal "key:secret"
	body     string
	header   map[string]string
	status   int
	code     models.Code
	contains []string // substrings of the body
	absent   []string // substrings the body must not contain
}

func (ta *testApp) run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			creds := sc.creds
			switch creds {
			case "sandbox":
				creds = ta.sandbox
			case "production":
				creds = ta.production
			}
			res := ta.call(t, sc.method, sc.path, creds, sc.body, sc.header)
			if got, want := res.Status, sc.status; got != want {
				t.Fatalf("status: got %d, want %d\n%s", got, want, res.Body)
			}
			if sc.code != "" {
				if got, want := res.Env.Code, sc.code; got != want {
					t.Errorf("code: got %s, want %s\n%s", got, want, res.Body)
				}
			}
			for _, s := range sc.contains {
				if !strings.Contains(string(res.Body), s) {
					t.Errorf("body lacks %q:\n%s", s, res.Body)
				}
			}
			for _, s := range sc.absent {
				if strings.Contains(string(res.Body), s) {
					t.Errorf("body contains %q:\n%s", s, res.Body)
				}
			}
			if res.Env.RequestID == "" || res.Env.RequestID != res.Header.Get("X-Request-Id") {
				t.Errorf("requestId %q does not equal X-Request-Id %q", res.Env.RequestID, res.Header.Get("X-Request-Id"))
			}
		})
	}
}

func TestCreateUser(t *testing.T) {
	ta := newTestApp(t, nil)
	long := strings.Repeat("k", 51)
	ta.run(t, []scenario{
		{name: "creates a user with metadata", method: "POST", path: "/v1/users", creds: "sandbox",
			body: `{"externalMetadata":{"crm":"42","plan":"gold"}}`, status: 201, code: models.CodeCreated,
			contains: []string{`"crm":"42"`, `"mode":"SANDBOX"`, `"accessToken":"`, `"providers":[]`}},
		{name: "creates a user with no body at all", method: "POST", path: "/v1/users", creds: "sandbox",
			status: 201, code: models.CodeCreated, contains: []string{`"externalMetadata":{}`}},
		{name: "creates a user with null metadata", method: "POST", path: "/v1/users", creds: "sandbox",
			body: `{"externalMetadata":null}`, status: 201},
		{name: "refuses six metadata pairs", method: "POST", path: "/v1/users", creds: "sandbox",
			body: `{"externalMetadata":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6"}}`, status: 400,
			code: models.CodeInvalidParameters, contains: []string{"at most 5", `"field":"externalMetadata"`}},
		{name: "refuses a key of 51 characters", method: "POST", path: "/v1/users", creds: "sandbox",
			body: `{"externalMetadata":{"` + long + `":"x"}}`, status: 400, code: models.CodeInvalidParameters,
			contains: []string{"at most 50"}},
		{name: "refuses a value of 501 characters", method: "POST", path: "/v1/users", creds: "sandbox",
			body: `{"externalMetadata":{"k":"` + strings.Repeat("v", 501) + `"}}`, status: 400,
			contains: []string{"externalMetadata.k", "at most 500"}},
		{name: "refuses non-ASCII values", method: "POST", path: "/v1/users", creds: "sandbox",
			body: `{"externalMetadata":{"name":"Zoë"}}`, status: 400, contains: []string{"ASCII", "externalMetadata.name"}},
		{name: "refuses a nested object", method: "POST", path: "/v1/users", creds: "sandbox",
			body: `{"externalMetadata":{"a":{"b":"c"}}}`, status: 400, contains: []string{"externalMetadata.a must be a string"}},
		{name: "refuses a number value", method: "POST", path: "/v1/users", creds: "sandbox",
			body: `{"externalMetadata":{"a":1}}`, status: 400, contains: []string{"externalMetadata.a must be a string"}},
		{name: "refuses metadata that is an array", method: "POST", path: "/v1/users", creds: "sandbox",
			body: `{"externalMetadata":["a"]}`, status: 400, contains: []string{"externalMetadata must be an object"}},
		{name: "refuses malformed JSON naming the body", method: "POST", path: "/v1/users", creds: "sandbox",
			body: `{"externalMetadata":`, status: 400, code: models.CodeInvalidParameters, contains: []string{`"field":"body"`}},
		{name: "refuses a JSON array body", method: "POST", path: "/v1/users", creds: "sandbox",
			body: `[1,2]`, status: 400, contains: []string{"must be a JSON object"}},
		{name: "refuses a body that is not JSON with 415", method: "POST", path: "/v1/users", creds: "sandbox",
			body: `crm=42`, header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			status: 415, code: models.CodeUnsupportedType},
	})
}

func TestCredentials(t *testing.T) {
	ta := newTestApp(t, nil)
	key, _, _ := strings.Cut(ta.sandbox, ":")
	revoked, err := ta.Store().CreateAPIKey(context.Background(), models.Sandbox, "old", "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ta.Store().RevokeAPIKey(context.Background(), models.Sandbox, revoked.Key); err != nil {
		t.Fatal(err)
	}
	ta.run(t, []scenario{
		{name: "refuses a request with no credentials", method: "GET", path: "/v1/users", status: 400, code: models.CodeInvalidCredentials},
		{name: "refuses a wrong secret", method: "GET", path: "/v1/users", creds: key + ":wrong", status: 400, code: models.CodeInvalidCredentials},
		{name: "refuses an unknown key", method: "GET", path: "/v1/users", creds: "sk_test_nope:secret", status: 400, code: models.CodeInvalidCredentials},
		{name: "refuses a revoked key", method: "GET", path: "/v1/users", creds: revoked.Key + ":" + revoked.Secret, status: 400, code: models.CodeInvalidCredentials},
		{name: "refuses a Bearer header", method: "GET", path: "/v1/users", header: map[string]string{"Authorization": "Bearer abc"}, status: 400, code: models.CodeInvalidCredentials},
		{name: "accepts the right key and secret", method: "GET", path: "/v1/users", creds: "sandbox", status: 200, code: models.CodeOK},
	})
	t.Run("asks for Basic credentials", func(t *testing.T) {
		res := ta.call(t, "GET", "/v1/users", "", "", nil)
		if got := res.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Basic") {
			t.Errorf("WWW-Authenticate: got %q, want Basic", got)
		}
	})
}

func TestUserAndTokenShapes(t *testing.T) {
	ta := newTestApp(t, nil)
	res := ta.call(t, "POST", "/v1/users", ta.sandbox, `{"externalMetadata":{"crm":"42"}}`, nil)
	var data struct {
		User struct {
			ID        string `json:"id"`
			CreatedAt string `json:"createdAt"`
		} `json:"user"`
		Token struct {
			ID, ExpiresAt, Mode, AccessToken string
		} `json:"token"`
	}
	if err := json.Unmarshal(res.Env.Data, &data); err != nil {
		t.Fatal(err)
	}
	t.Run("user ids are the tenant id and 32 hex characters", func(t *testing.T) {
		if !regexp.MustCompile(`^acme-[0-9a-f]{32}$`).MatchString(data.User.ID) {
			t.Errorf("user id %q", data.User.ID)
		}
	})
	t.Run("token ids are tk- and 32 hex characters", func(t *testing.T) {
		if !regexp.MustCompile(`^tk-[0-9a-f]{32}$`).MatchString(data.Token.ID) {
			t.Errorf("token id %q", data.Token.ID)
		}
	})
	t.Run("dates are RFC 3339 in UTC with a Z", func(t *testing.T) {
		for _, s := range []string{data.User.CreatedAt, data.Token.ExpiresAt} {
			if _, err := time.Parse(time.RFC3339, s); err != nil || !strings.HasSuffix(s, "Z") {
				t.Errorf("date %q", s)
			}
		}
	})
	t.Run("the token expires after the default five hours", func(t *testing.T) {
		exp, _ := time.Parse(time.RFC3339, data.Token.ExpiresAt)
		created, _ := time.Parse(time.RFC3339, data.User.CreatedAt)
		if d := exp.Sub(created); d < 5*time.Hour-2*time.Second || d > 5*time.Hour+time.Second {
			t.Errorf("lifetime %s", d)
		}
	})
	t.Run("the access token is signed and names the user, mode and token id", func(t *testing.T) {
		p := ta.Store().ParseToken(data.Token.AccessToken)
		if !p.SignatureOK {
			t.Fatalf("signature: %s", p.Problem)
		}
		if got, want := p.Claims.Subject, data.User.ID; got != want {
			t.Errorf("sub: got %s, want %s", got, want)
		}
		if got, want := p.Claims.ID, data.Token.ID; got != want {
			t.Errorf("jti: got %s, want %s", got, want)
		}
		if got, want := p.Claims.Mode, models.Sandbox; got != want {
			t.Errorf("mode: got %s, want %s", got, want)
		}
	})
	t.Run("the database keeps the token's hash, never the token", func(t *testing.T) {
		var n int64
		ta.Store().R.Raw("SELECT COUNT(*) FROM link_tokens WHERE token_hash = ?", models.HashToken(data.Token.AccessToken)).Scan(&n)
		if n != 1 {
			t.Errorf("rows with the hash: %d", n)
		}
		ta.Store().R.Raw("SELECT COUNT(*) FROM link_tokens WHERE token_hash = ? OR id = ?", data.Token.AccessToken, data.Token.AccessToken).Scan(&n)
		if n != 0 {
			t.Errorf("the raw token is stored")
		}
	})
	t.Run("a USER_CREATED event with the contract's exact payload is recorded", func(t *testing.T) {
		var ev models.Event
		if err := ta.Store().R.Where("user_id = ?", data.User.ID).Take(&ev).Error; err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`{"id":"%s","version":1,"type":"USER_CREATED","createdAt":"%s","data":{"userId":"%s"}}`,
			ev.ID, data.User.CreatedAt, data.User.ID)
		if ev.Payload != want {
			t.Errorf("payload:\n got %s\nwant %s", ev.Payload, want)
		}
	})
	ta.run(t, []scenario{
		{name: "gets the user by id", method: "GET", path: "/v1/users/" + data.User.ID, creds: "sandbox", status: 200,
			contains: []string{data.User.ID, `"crm":"42"`}},
		{name: "hides the user from a production key", method: "GET", path: "/v1/users/" + data.User.ID, creds: "production",
			status: 404, code: models.CodeMissingResource},
		{name: "answers an unknown user with 404", method: "GET", path: "/v1/users/acme-00000000000000000000000000000000", creds: "sandbox",
			status: 404, code: models.CodeMissingResource},
		{name: "refreshes a token for the user", method: "POST", path: "/v1/tokens?userId=" + data.User.ID, creds: "sandbox",
			status: 201, code: models.CodeCreated, contains: []string{`"mode":"SANDBOX"`, `"id":"tk-`}},
		{name: "refuses to refresh a token for the other mode's user", method: "POST", path: "/v1/tokens?userId=" + data.User.ID,
			creds: "production", status: 404, code: models.CodeMissingResource},
		{name: "asks for userId when it is missing", method: "POST", path: "/v1/tokens", creds: "sandbox",
			status: 400, code: models.CodeInvalidParameters, contains: []string{`"field":"userId"`}},
		{name: "refuses a userId over 200 characters", method: "POST", path: "/v1/tokens?userId=" + strings.Repeat("a", 201), creds: "sandbox",
			status: 400, contains: []string{"200"}},
		{name: "answers an unknown method with 501", method: "DELETE", path: "/v1/tokens", creds: "sandbox",
			status: 501, code: models.CodeUnsupportedMethod},
		{name: "answers PATCH on a user with 501", method: "PATCH", path: "/v1/users/" + data.User.ID, creds: "sandbox",
			status: 501, code: models.CodeUnsupportedMethod},
		{name: "answers an unknown path with 404", method: "GET", path: "/v1/nothing", creds: "sandbox",
			status: 404, code: models.CodeMissingResource},
	})
}

func TestListUsers(t *testing.T) {
	ta := newTestApp(t, nil)
	s := ta.Store()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 25 {
		s.Now = func() time.Time { return base.Add(time.Duration(i) * time.Hour) }
		u, err := s.CreateUser(context.Background(), models.Sandbox, models.Metadata{"n": fmt.Sprint(i)}, "test")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.User.ID)
	}
	s.Now = func() time.Time { return base }
	if _, err := s.CreateUser(context.Background(), models.Production, nil, "test"); err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return time.Now().UTC() }

	t.Run("pages through every user once, newest first", func(t *testing.T) {
		var seen []string
		cursor := ""
		for range 10 {
			res := ta.call(t, "GET", "/v1/users?size=7&cursor="+cursor, ta.sandbox, "", nil)
			var page struct {
				NextCursor *string `json:"nextCursor"`
				Items      []struct{ ID string }
			}
			if err := json.Unmarshal(res.Env.Data, &page); err != nil {
				t.Fatal(err)
			}
			for _, it := range page.Items {
				seen = append(seen, it.ID)
			}
			if page.NextCursor == nil {
				break
			}
			cursor = *page.NextCursor
		}
		if got, want := len(seen), 25; got != want {
			t.Fatalf("got %d users, want %d", got, want)
		}
		for i, id := range seen {
			if id != ids[24-i] {
				t.Fatalf("position %d: got %s, want %s", i, id, ids[24-i])
			}
		}
	})
	t.Run("filters by creation date, both ends inclusive", func(t *testing.T) {
		// Users 12..24 were created on March 2nd (from 00:00 to 12:00).
		res := ta.call(t, "GET", "/v1/users?size=150&startDate=2026-03-02&endDate=2026-03-02", ta.sandbox, "", nil)
		var page struct{ Items []struct{ ID string } }
		json.Unmarshal(res.Env.Data, &page)
		if got, want := len(page.Items), 13; got != want {
			t.Errorf("got %d users, want %d", got, want)
		}
	})
	ta.run(t, []scenario{
		{name: "defaults to ten users", method: "GET", path: "/v1/users", creds: "sandbox", status: 200, contains: []string{`"nextCursor":"`}},
		{name: "refuses size 0", method: "GET", path: "/v1/users?size=0", creds: "sandbox", status: 400, contains: []string{`"field":"size"`}},
		{name: "refuses size 151", method: "GET", path: "/v1/users?size=151", creds: "sandbox", status: 400, contains: []string{"150"}},
		{name: "refuses a size that is not a number", method: "GET", path: "/v1/users?size=ten", creds: "sandbox", status: 400},
		{name: "refuses a cursor it never issued", method: "GET", path: "/v1/users?cursor=bogus", creds: "sandbox", status: 400, contains: []string{`"field":"cursor"`}},
		{name: "refuses a malformed startDate", method: "GET", path: "/v1/users?startDate=01-03-2026", creds: "sandbox", status: 400, contains: []string{`"field":"startDate"`}},
		{name: "refuses an endDate before the startDate", method: "GET", path: "/v1/users?startDate=2026-03-02&endDate=2026-03-01", creds: "sandbox", status: 400, contains: []string{`"field":"endDate"`}},
		{name: "shows a production key only production users", method: "GET", path: "/v1/users?size=150", creds: "production", status: 200, absent: []string{ids[0]}},
	})
}

func TestRateLimit(t *testing.T) {
	ta := newTestApp(t, func(c *Config) { c.RateLimit = 5 })
	var last *apiResponse
	for range 6 {
		last = ta.call(t, "GET", "/v1/users", ta.sandbox, "", nil)
	}
	if got, want := last.Status, 429; got != want {
		t.Fatalf("sixth request in a second: got %d, want %d", got, want)
	}
	if got, want := last.Env.Code, models.CodeRequestLimitExceeded; got != want {
		t.Errorf("code: got %s, want %s", got, want)
	}
	if last.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After header")
	}
}

func TestNothingSecretIsLogged(t *testing.T) {
	ta := newTestApp(t, nil)
	res := ta.call(t, "POST", "/v1/users", ta.sandbox, `{"externalMetadata":{"crm":"42"}}`, nil)
	var data struct {
		User  struct{ ID string }
		Token struct{ AccessToken string }
	}
	json.Unmarshal(res.Env.Data, &data)
	res = ta.call(t, "POST", "/v1/tokens?userId="+data.User.ID, ta.sandbox, "", nil)
	var tok struct{ AccessToken string }
	json.Unmarshal(res.Env.Data, &tok)
	_, secret, _ := strings.Cut(ta.sandbox, ":")
	ta.call(t, "GET", "/v1/users", "sk_test_x:"+secret+"wrong", "", nil)

	logs := ta.logs.String()
	if !strings.Contains(logs, "/v1/tokens") {
		t.Fatalf("the requests were not logged at all:\n%s", logs)
	}
	for name, secret := range map[string]string{"API secret": secret, "first token": data.Token.AccessToken, "refreshed token": tok.AccessToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("the %s appears in the log", name)
		}
	}
}
