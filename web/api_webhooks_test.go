package web

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"tokendesk/models"
)

func createWebhook(t *testing.T, ta *testApp, creds, url string) string {
	t.Helper()
	res := ta.call(t, "POST", "/v1/webhooks", creds,
		`{"name":"Orders","url":"`+url+`","eventTypes":["USER_CREATED"],"active":true,"secret":"a little secret"}`, nil)
	if res.Status != 200 {
		t.Fatalf("create webhook: %d %s", res.Status, res.Body)
	}
	var ep struct{ ID string }
	json.Unmarshal(res.Env.Data, &ep)
	return ep.ID
}

func TestWebhooksAPI(t *testing.T) {
	ta := newTestApp(t, nil)
	id := createWebhook(t, ta, ta.sandbox, "http://127.0.0.1:9/hook")
	valid := func(url string) string {
		return `{"name":"Orders","url":"` + url + `","eventTypes":["USER_CREATED"],"active":true,"secret":"s"}`
	}
	ta.run(t, []scenario{
		{name: "creates a SANDBOX endpoint with an http url", method: "POST", path: "/v1/webhooks", creds: "sandbox",
			body: valid("http://localhost:3000/hooks"), status: 200, code: models.CodeOK,
			contains: []string{`"active":true`, `"secret":"s"`, `"includePayload":false`}},
		{name: "refuses an http url in PRODUCTION", method: "POST", path: "/v1/webhooks", creds: "production",
			body: valid("http://example.com/hooks"), status: 400, contains: []string{`"field":"url"`, "https://"}},
		{name: "creates a PRODUCTION endpoint with an https url", method: "POST", path: "/v1/webhooks", creds: "production",
			body: valid("https://example.com/hooks"), status: 200},
		{name: "asks for every required field", method: "POST", path: "/v1/webhooks", creds: "sandbox",
			body: `{"name":"x"}`, status: 400, code: models.CodeInvalidParameters},
		{name: "refuses an empty body", method: "POST", path: "/v1/webhooks", creds: "sandbox",
			status: 400, contains: []string{`"field":"body"`}},
		{name: "refuses a name over 200 characters", method: "POST", path: "/v1/webhooks", creds: "sandbox",
			body:   `{"name":"` + strings.Repeat("n", 201) + `","url":"http://a.test/","eventTypes":["USER_CREATED"],"active":true,"secret":"s"}`,
			status: 400, contains: []string{`"field":"name"`}},
		{name: "refuses a secret over 64 characters", method: "POST", path: "/v1/webhooks", creds: "sandbox",
			body:   `{"name":"n","url":"http://a.test/","eventTypes":["USER_CREATED"],"active":true,"secret":"` + strings.Repeat("s", 65) + `"}`,
			status: 400, contains: []string{`"field":"secret"`}},
		{name: "refuses an event type outside the contract", method: "POST", path: "/v1/webhooks", creds: "sandbox",
			body:   `{"name":"n","url":"http://a.test/","eventTypes":["USER_DELETED"],"active":true,"secret":"s"}`,
			status: 400, contains: []string{"eventTypes"}},
		{name: "refuses active given as a string, naming it", method: "POST", path: "/v1/webhooks", creds: "sandbox",
			body:   `{"name":"n","url":"http://a.test/","eventTypes":["USER_CREATED"],"active":"yes","secret":"s"}`,
			status: 400, contains: []string{`"field":"active"`}},
		{name: "gets the endpoint", method: "GET", path: "/v1/webhooks/" + id, creds: "sandbox", status: 200, contains: []string{id}},
		{name: "hides the endpoint from the other mode", method: "GET", path: "/v1/webhooks/" + id, creds: "production", status: 404, code: models.CodeMissingResource},
		{name: "lists the mode's endpoints only", method: "GET", path: "/v1/webhooks?size=150", creds: "production", status: 200,
			absent: []string{id}, contains: []string{"https://example.com/hooks"}},
		{name: "changes only the fields sent", method: "PATCH", path: "/v1/webhooks/" + id, creds: "sandbox",
			body: `{"active":false,"eventTypes":["ALL_EVENTS"]}`, status: 200, contains: []string{`"active":false`, `"ALL_EVENTS"`, `"name":"Orders"`}},
		{name: "refuses a patch with a bad url", method: "PATCH", path: "/v1/webhooks/" + id, creds: "sandbox",
			body: `{"url":"ftp://x"}`, status: 400, contains: []string{`"field":"url"`}},
		{name: "lists no deliveries of a new endpoint", method: "GET", path: "/v1/webhooks/" + id + "/deliveries", creds: "sandbox",
			status: 200, contains: []string{`"items":[]`}},
		{name: "refuses a bad status filter", method: "GET", path: "/v1/webhooks/" + id + "/deliveries?status=LOST", creds: "sandbox",
			status: 400, contains: []string{`"field":"status"`}},
		{name: "answers an unknown delivery with 404", method: "GET", path: "/v1/webhooks/" + id + "/deliveries/00000000000000000000000000000000", creds: "sandbox",
			status: 404},
		{name: "asks recover for a since", method: "POST", path: "/v1/webhooks/" + id + "/recover", creds: "sandbox",
			body: `{"dryRun":true}`, status: 400, contains: []string{`"field":"since"`}},
		{name: "counts what recover would resend", method: "POST", path: "/v1/webhooks/" + id + "/recover", creds: "sandbox",
			body: `{"since":"2026-01-01","dryRun":true}`, status: 200, contains: []string{`"count":0`, `"dryRun":true`}},
		{name: "deletes the endpoint", method: "DELETE", path: "/v1/webhooks/" + id, creds: "sandbox", status: 200, code: models.CodeOK},
		{name: "answers a deleted endpoint with 404", method: "GET", path: "/v1/webhooks/" + id, creds: "sandbox", status: 404},
		{name: "answers PUT with 501", method: "PUT", path: "/v1/webhooks/" + id, creds: "sandbox", status: 501, code: models.CodeUnsupportedMethod},
	})
}

func TestUserCreatedIsDeliveredSigned(t *testing.T) {
	type received struct {
		body   []byte
		header http.Header
	}
	got := make(chan received, 4)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- received{body, r.Header.Clone()}
		w.WriteHeader(204)
	}))
	defer receiver.Close()
	ta := newTestApp(t, nil)
	id := createWebhook(t, ta, ta.sandbox, receiver.URL+"/hooks")
	res := ta.call(t, "POST", "/v1/users", ta.sandbox, `{"externalMetadata":{"crm":"42"}}`, nil)
	var created struct{ User struct{ ID string } }
	json.Unmarshal(res.Env.Data, &created)

	var r received
	select {
	case r = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the receiver got nothing within 10 s")
	}
	t.Run("the body is the contract's USER_CREATED event", func(t *testing.T) {
		var ev struct {
			ID, Type, CreatedAt string
			Version             int
			Data                struct{ UserID string }
		}
		if err := json.Unmarshal(r.body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != "USER_CREATED" || ev.Version != 1 || ev.Data.UserID != created.User.ID {
			t.Errorf("event: %s", r.body)
		}
		if got, want := r.header.Get("webhook-id"), ev.ID; got != want {
			t.Errorf("webhook-id: got %s, want the event id %s", got, want)
		}
	})
	t.Run("the Standard Webhooks signature verifies with the official library", func(t *testing.T) {
		wh, err := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte("a little secret")))
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Errorf("verify: %v", err)
		}
	})
	t.Run("Smile-Signature is the hex HMAC-SHA512 of the body", func(t *testing.T) {
		mac := hmac.New(sha512.New, []byte("a little secret"))
		mac.Write(r.body)
		if got, want := r.header.Get("Smile-Signature"), hex.EncodeToString(mac.Sum(nil)); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("the delivery is listed as succeeded with its attempt", func(t *testing.T) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			res := ta.call(t, "GET", "/v1/webhooks/"+id+"/deliveries?status=SUCCEEDED", ta.sandbox, "", nil)
			if strings.Contains(string(res.Body), created.User.ID) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("not succeeded: %s", res.Body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func TestDeliveriesAPI(t *testing.T) {
	ta := newTestApp(t, nil)
	id := createWebhook(t, ta, ta.sandbox, "http://127.0.0.1:9/hook")
	other := createWebhook(t, ta, ta.sandbox, "http://127.0.0.1:9/other")
	res := ta.call(t, "POST", "/v1/users", ta.sandbox, `{}`, nil)
	var created struct{ User struct{ ID string } }
	json.Unmarshal(res.Env.Data, &created)

	res = ta.call(t, "GET", "/v1/webhooks/"+id+"/deliveries?userId="+created.User.ID, ta.sandbox, "", nil)
	var page struct {
		Items []struct{ ID, Status, EventType, UserID string }
	}
	json.Unmarshal(res.Env.Data, &page)
	if len(page.Items) != 1 {
		t.Fatalf("a new user queued %d deliveries to the endpoint, want 1: %s", len(page.Items), res.Body)
	}
	d := page.Items[0]
	// Wait for the first attempt (the receiver refuses connections) to be
	// recorded, so the delivery is not in flight when the scenarios run.
	deadline := time.Now().Add(5 * time.Second)
	for {
		res := ta.call(t, "GET", "/v1/webhooks/"+id+"/deliveries/"+d.ID, ta.sandbox, "", nil)
		if strings.Contains(string(res.Body), `"attempts":[{`) && !strings.Contains(string(res.Body), `"attemptCount":0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no attempt recorded: %s", res.Body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if d.EventType != "USER_CREATED" || d.UserID != created.User.ID {
		t.Errorf("delivery: %+v", d)
	}
	ta.run(t, []scenario{
		{name: "shows a delivery with its event", method: "GET", path: "/v1/webhooks/" + id + "/deliveries/" + d.ID, creds: "sandbox",
			status: 200, contains: []string{`"type":"USER_CREATED"`, `"attempts":[`, created.User.ID}},
		{name: "refuses a delivery through another endpoint's path", method: "GET", path: "/v1/webhooks/" + other + "/deliveries/" + d.ID, creds: "sandbox",
			status: 404},
		{name: "hides the delivery from the other mode", method: "GET", path: "/v1/webhooks/" + id + "/deliveries/" + d.ID, creds: "production",
			status: 404},
		{name: "filters by event type", method: "GET", path: "/v1/webhooks/" + id + "/deliveries?eventType=ACCOUNT_CREATED", creds: "sandbox",
			status: 200, contains: []string{`"items":[]`}},
		{name: "resends a delivery", method: "POST", path: "/v1/webhooks/" + id + "/deliveries/" + d.ID + "/resend", creds: "sandbox",
			status: 200, contains: []string{d.ID}},
	})
}

func TestWebhookDisabledByTheServerIsInactiveUntilTurnedOn(t *testing.T) {
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusGone)
	}))
	defer gone.Close()
	ta := newTestApp(t, nil)
	id := createWebhook(t, ta, ta.sandbox, gone.URL+"/hooks")
	ta.call(t, "POST", "/v1/users", ta.sandbox, `{}`, nil)

	var ep struct {
		Active         bool
		DisabledAt     *string
		DisabledReason string
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		res := ta.call(t, "GET", "/v1/webhooks/"+id, ta.sandbox, "", nil)
		json.Unmarshal(res.Env.Data, &ep)
		if ep.DisabledAt != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint was not disabled after a 410: %s", res.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ep.Active || !strings.Contains(ep.DisabledReason, "410") {
		t.Fatalf("disabled endpoint reads active %v, reason %q; want inactive with the 410 named", ep.Active, ep.DisabledReason)
	}
	res := ta.call(t, "PATCH", "/v1/webhooks/"+id, ta.sandbox, `{"active":true}`, nil)
	if res.Status != 200 {
		t.Fatalf("turn on: %d %s", res.Status, res.Body)
	}
	res = ta.call(t, "GET", "/v1/webhooks/"+id, ta.sandbox, "", nil)
	ep.DisabledReason = ""
	json.Unmarshal(res.Env.Data, &ep)
	if !ep.Active || ep.DisabledAt != nil || ep.DisabledReason != "" || strings.Contains(string(res.Body), "disabledReason") {
		t.Fatalf("after PATCH active true: %s; want active, with no disabledAt or reason", res.Body)
	}
}

func TestWebhookLimitsAPI(t *testing.T) {
	ta := newTestApp(t, nil)
	ta.run(t, []scenario{
		{name: "takes a rate limit and an in-flight limit", method: "POST", path: "/v1/webhooks", creds: "sandbox",
			body:   `{"name":"n","url":"http://a.test/","eventTypes":["USER_CREATED"],"active":true,"secret":"s","rateLimit":20,"maxInFlight":5}`,
			status: 200, contains: []string{`"rateLimit":20`, `"maxInFlight":5`}},
		{name: "refuses a negative rate limit, naming it", method: "POST", path: "/v1/webhooks", creds: "sandbox",
			body:   `{"name":"n","url":"http://a.test/","eventTypes":["USER_CREATED"],"active":true,"secret":"s","rateLimit":-1}`,
			status: 400, code: models.CodeInvalidParameters, contains: []string{`"field":"rateLimit"`}},
		{name: "refuses an in-flight limit over 1000, naming it", method: "POST", path: "/v1/webhooks", creds: "sandbox",
			body:   `{"name":"n","url":"http://a.test/","eventTypes":["USER_CREATED"],"active":true,"secret":"s","maxInFlight":1001}`,
			status: 400, code: models.CodeInvalidParameters, contains: []string{`"field":"maxInFlight"`}},
		{name: "refuses a rate limit given as text, naming it", method: "POST", path: "/v1/webhooks", creds: "sandbox",
			body:   `{"name":"n","url":"http://a.test/","eventTypes":["USER_CREATED"],"active":true,"secret":"s","rateLimit":"fast"}`,
			status: 400, contains: []string{`"field":"rateLimit"`}},
	})
}

func TestProductionWebhookURLsAreCheckedAtCreation(t *testing.T) {
	ta := newTestApp(t, nil)
	body := func(url string) string {
		return `{"name":"n","url":"` + url + `","eventTypes":["USER_CREATED"],"active":true,"secret":"s"}`
	}
	var scenarios []scenario
	for _, u := range []string{"https://127.1/h", "https://0x7f000001/h", "https://[::ffff:127.0.0.1]/h", "https://localhost/h",
		"https://user:pw@example.com/h", "https://example.com:70000/h", "https://169.254.169.254/h"} {
		scenarios = append(scenarios, scenario{name: "refuses " + u, method: "POST", path: "/v1/webhooks", creds: "production",
			body: body(u), status: 400, code: models.CodeInvalidParameters, contains: []string{`"field":"url"`}})
	}
	scenarios = append(scenarios, scenario{name: "SANDBOX still takes localhost", method: "POST", path: "/v1/webhooks", creds: "sandbox",
		body: body("http://localhost:3000/h"), status: 200})
	ta.run(t, scenarios)
}
