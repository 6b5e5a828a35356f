package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"tokendesk/models"
)

// hookReceiver is a loopback webhook receiver whose answer a test sets.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	body   string
	got    []receivedHook
}

type receivedHook struct {
	Header http.Header
	Body   string
}

func newHookReceiver(t testing.TB) *hookReceiver {
	r := &hookReceiver{status: http.StatusOK, body: "ok"}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, receivedHook{Header: req.Header.Clone(), Body: string(b)})
		status, body := r.status, r.body
		r.mu.Unlock()
		w.Header().Set("X-Receiver", "test")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(r.Close)
	return r
}

// answer sets what the receiver replies from now on.
func (r *hookReceiver) answer(status int, body string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.body = status, body
}

func (r *hookReceiver) received() []receivedHook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedHook(nil), r.got...)
}

// settle waits until a delivery leaves PENDING (or reaches want) and returns it.
func settle(t testing.TB, s *models.Store, m models.Mode, id, want string) *models.DeliveryDetail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := s.GetDelivery(t.Context(), m, id)
		if err != nil {
			t.Fatalf("get delivery %s: %v", id, err)
		}
		if d.Delivery.Status == want && !d.Delivery.ManualPending && d.Delivery.LeaseOwner == "" {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s is %s after 10s, want %s (last error %q)", id, d.Delivery.Status, want, d.Delivery.LastError)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// webhookFixture adds endpoints of both modes and one delivered event each
// to the console fixture.
type webhookFixture struct {
	*consoleFixture
	rc                             *hookReceiver
	sandboxEndpoint, prodEndpoint  string
	sandboxDelivery, prodDelivery  string
	sandboxEvent, prodEvent        string
	failedDelivery, failedEndpoint string
	newUser                        string
}

func newWebhookFixture(t *testing.T) *webhookFixture {
	t.Helper()
	f := &webhookFixture{consoleFixture: newConsoleFixture(t), rc: newHookReceiver(t)}
	ctx, s := t.Context(), f.app.store
	yes, name, url, secret := true, "crm <b>hook</b>", f.rc.URL+"/hook", "s3cret-value"
	ep, err := s.CreateWebhookEndpoint(ctx, models.Sandbox, models.WebhookInput{Name: &name, URL: &url, EventTypes: []string{models.EventUserCreated}, Active: &yes, Secret: &secret})
	if err != nil {
		t.Fatal(err)
	}
	f.sandboxEndpoint = ep.ID
	pname, purl := "prod-only-endpoint", "https://receiver.example/hook" // a reserved name: never resolves
	pep, err := s.CreateWebhookEndpoint(ctx, models.Production, models.WebhookInput{Name: &pname, URL: &purl, EventTypes: []string{models.EventAllEvents}, Active: &yes, Secret: &secret})
	if err != nil {
		t.Fatal(err)
	}
	f.prodEndpoint = pep.ID
	su, err := s.CreateUser(ctx, models.Sandbox, models.Metadata{"crm": "C-7"}, "test")
	if err != nil {
		t.Fatal(err)
	}
	f.newUser, f.sandboxEvent = su.User.ID, su.Event.ID
	pu, err := s.CreateUser(ctx, models.Production, nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	f.prodEvent = pu.Event.ID
	ev, err := s.GetEvent(ctx, models.Sandbox, f.sandboxEvent)
	if err != nil || len(ev.Deliveries) != 1 {
		t.Fatalf("sandbox event deliveries: %v %d", err, len(ev.Deliveries))
	}
	f.sandboxDelivery = ev.Deliveries[0].ID
	pev, err := s.GetEvent(ctx, models.Production, f.prodEvent)
	if err != nil || len(pev.Deliveries) != 1 {
		t.Fatalf("production event deliveries: %v", err)
	}
	f.prodDelivery = pev.Deliveries[0].ID
	settle(t, s, models.Sandbox, f.sandboxDelivery, models.DeliverySucceeded)

	// A second sandbox endpoint that answers 410, which fails its delivery
	// and disables it: something to recover.
	gone := newHookReceiver(t)
	gone.answer(http.StatusGone, "<gone>")
	gname, gurl := "gone-endpoint", gone.URL+"/x"
	gep, err := s.CreateWebhookEndpoint(ctx, models.Sandbox, models.WebhookInput{Name: &gname, URL: &gurl, EventTypes: []string{models.EventUserCreated}, Active: &yes, Secret: &secret})
	if err != nil {
		t.Fatal(err)
	}
	f.failedEndpoint = gep.ID
	_, d, err := s.CreateTestEvent(ctx, models.Sandbox, gep.ID, "test")
	if err != nil {
		t.Fatal(err)
	}
	f.failedDelivery = d.ID
	settle(t, s, models.Sandbox, d.ID, models.DeliveryFailed)

	f.replace = strings.NewReplacer("{sandboxEndpoint}", f.sandboxEndpoint, "{prodEndpoint}", f.prodEndpoint,
		"{sandboxDelivery}", f.sandboxDelivery, "{prodDelivery}", f.prodDelivery, "{sandboxEvent}", f.sandboxEvent,
		"{prodEvent}", f.prodEvent, "{newUser}", f.newUser, "{failedDelivery}", f.failedDelivery,
		"{failedEndpoint}", f.failedEndpoint, "{receiver}", f.rc.URL,
		"{sandboxUser}", f.sandboxUser, "{prodUser}", f.prodUser, "{keyID}", f.keyID)
	return f
}

func TestWebhookPagesInSandbox(t *testing.T) {
	f := newWebhookFixture(t)
	admin := f.app.signedIn(t, models.RoleAdmin)
	f.run(t, admin, []pageCase{
		{name: "the endpoint list shows the sandbox endpoints with their health, escaped", method: "GET", path: "/webhooks", status: 200,
			has:    []string{"crm &lt;b&gt;hook&lt;/b&gt;", `data-testid="success-rate">100.0%`, "gone-endpoint", ">disabled<", "the receiver answered 410 Gone"},
			hasNot: []string{"prod-only-endpoint", "crm <b>hook</b>"}},
		{name: "a production endpoint does not exist in sandbox", method: "GET", path: "/webhooks/{prodEndpoint}", status: 404,
			has: []string{`data-testid="error-page"`}},
		{name: "the endpoint page shows health, settings and newest deliveries but not the secret", method: "GET", path: "/webhooks/{sandboxEndpoint}", status: 200,
			has:    []string{"{receiver}/hook", "{sandboxDelivery}", `data-testid="reveal-secret"`, `data-testid="send-test"`, `data-testid="recover-form"`},
			hasNot: []string{"s3cret-value"}},
		{name: "creating an endpoint with bad fields shows every error beside its field with the input kept", method: "POST", path: "/webhooks",
			form: url.Values{"name": {" "}, "url": {"ftp://example.com/<x>"}, "active": {"true"}}, status: 400,
			has: []string{"Give the endpoint a name, up to 200 characters.", "Url must be an absolute http:// or https:// URL", "EventTypes must list at least one event type",
				`value="ftp://example.com/&lt;x&gt;"`, `data-testid="field-error"`}},
		{name: "creating an endpoint with a too-long secret says so beside the secret", method: "POST", path: "/webhooks",
			form: url.Values{"name": {"x"}, "url": {"http://127.0.0.1:1/"}, "eventTypes": {"USER_CREATED"}, "secret": {strings.Repeat("s", 65)}}, status: 400,
			has: []string{"Secret must be 1 to 64 characters, got 65", `value="` + strings.Repeat("s", 65) + `"`}},
		{name: "creating an endpoint with good fields opens its page", method: "POST", path: "/webhooks",
			form: url.Values{"name": {"second"}, "url": {"http://127.0.0.1:9/hook"}, "eventTypes": {"USER_CREATED", "ALL_EVENTS"}, "active": {"true"}}, status: 303,
			located: "/webhooks/"},
		{name: "editing an endpoint with an empty event list keeps the input beside the error", method: "POST", path: "/webhooks/{sandboxEndpoint}",
			form: url.Values{"name": {"renamed <i>"}, "url": {"{receiver}/hook"}, "active": {"true"}}, status: 400,
			has: []string{"EventTypes must list at least one event type", `value="renamed &lt;i&gt;"`}},
		{name: "editing an endpoint saves and says so", method: "POST", path: "/webhooks/{sandboxEndpoint}",
			form: url.Values{"name": {"crm hook"}, "url": {"{receiver}/hook"}, "eventTypes": {"USER_CREATED"}, "active": {"true"}}, status: 303,
			located: "/webhooks/{sandboxEndpoint}?saved=1"},
		{name: "revealing the secret shows it once after the redirect", method: "POST", path: "/webhooks/{sandboxEndpoint}/secret", status: 303, follow: true,
			has: []string{`data-testid="webhook-secret">s3cret-value<`}, goneOnReload: []string{`data-testid="webhook-secret">s3cret-value<`}},
		{name: "rotating to the same secret is refused beside the field", method: "POST", path: "/webhooks/{sandboxEndpoint}/rotate",
			form: url.Values{"secret": {"s3cret-value"}, "confirm": {"yes"}}, status: 400, has: []string{"The new secret must differ from the current one"}},
		{name: "rotating asks first", method: "POST", path: "/webhooks/{sandboxEndpoint}/rotate",
			form: url.Values{"secret": {"n3w-secret"}}, status: 200, has: []string{`data-testid="confirm"`}},
		{name: "rotating shows the new secret and the 24 hour overlap", method: "POST", path: "/webhooks/{sandboxEndpoint}/rotate",
			form: url.Values{"secret": {"n3w-secret"}, "confirm": {"yes"}}, status: 303, follow: true,
			has:          []string{`data-testid="webhook-secret">n3w-secret<`, `data-testid="rotation-grace"`, "the old one keeps signing for 24 hours"},
			goneOnReload: []string{`data-testid="webhook-secret">n3w-secret<`}},
		{name: "a test event goes to its delivery page", method: "POST", path: "/webhooks/{sandboxEndpoint}/test", status: 303, located: "/deliveries/"},
		{name: "recover without a time is refused beside the field", method: "POST", path: "/webhooks/{failedEndpoint}/recover",
			form: url.Values{"since": {"yesterday"}}, status: 400, has: []string{"Use a time like", `value="yesterday"`}},
		{name: "recover first says how many deliveries it will resend", method: "POST", path: "/webhooks/{failedEndpoint}/recover",
			form: url.Values{"since": {"2000-01-01T00:00"}}, status: 200,
			has: []string{`data-testid="confirm"`, "Resend 1 delivery?", "1 failed delivery of", "The endpoint is enabled again first.", `name="since" value="2000-01-01T00:00"`}},
		{name: "the delivery log lists the mode's deliveries", method: "GET", path: "/deliveries", status: 200,
			has: []string{"{sandboxDelivery}", "{failedDelivery}", "HTTP 410", "test event"}, hasNot: []string{"{prodDelivery}"}},
		{name: "the delivery log filters by status", method: "GET", path: "/deliveries?status=failed", status: 200,
			has: []string{"{failedDelivery}"}, hasNot: []string{`data-delivery-id="{sandboxDelivery}"`}},
		{name: "the delivery log filters by endpoint", method: "GET", path: "/deliveries?endpoint={failedEndpoint}", status: 200,
			has: []string{"{failedDelivery}"}, hasNot: []string{`data-delivery-id="{sandboxDelivery}"`}},
		{name: "the delivery log filters by user", method: "GET", path: "/deliveries?user={newUser}", status: 200,
			has: []string{"{sandboxDelivery}"}, hasNot: []string{`data-delivery-id="{failedDelivery}"`}},
		{name: "the delivery log filters by event type", method: "GET", path: "/deliveries?type=ACCOUNT_CREATED", status: 200,
			has: []string{"No deliveries match"}},
		{name: "the delivery log filters by time", method: "GET", path: "/deliveries?from=2000-01-01T00:00&to=2000-01-02", status: 200,
			has: []string{"No deliveries match", `value="2000-01-01T00:00"`}},
		{name: "the delivery log explains a bad filter beside its field", method: "GET", path: "/deliveries?status=LOST&from=soon", status: 400,
			has: []string{"Choose PENDING, RETRYING, SUCCEEDED or FAILED.", "Use a time like", `value="soon"`}},
		{name: "the delivery log does not know another mode's endpoint", method: "GET", path: "/deliveries?endpoint={prodEndpoint}", status: 400,
			has: []string{"No endpoint of SANDBOX has this id."}},
		{name: "a production delivery does not exist in sandbox", method: "GET", path: "/deliveries/{prodDelivery}", status: 404},
		{name: "the delivery page shows the payload and the attempt as sent and answered", method: "GET", path: "/deliveries/{sandboxDelivery}", status: 200,
			has: []string{`data-testid="payload"`, "&#34;userId&#34;: &#34;{newUser}&#34;", "Smile-Signature", "Webhook-Signature", "X-Receiver",
				`data-testid="response-body">ok<`, "automatic", `data-testid="resend"`}},
		{name: "the failed delivery shows the receiver's answer, escaped", method: "GET", path: "/deliveries/{failedDelivery}", status: 200,
			has: []string{`data-testid="response-body">&lt;gone&gt;<`, "HTTP 410", "The endpoint is disabled"}},
		{name: "resending a sandbox delivery needs no confirmation", method: "POST", path: "/deliveries/{sandboxDelivery}/resend", status: 303,
			located: "/deliveries/{sandboxDelivery}?resent=1"},
		{name: "resending to a disabled endpoint is refused with the reason", method: "POST", path: "/deliveries/{failedDelivery}/resend", status: 409,
			has: []string{"endpoint disabled"}},
		{name: "a production event does not exist in sandbox", method: "GET", path: "/events/{prodEvent}", status: 404},
		{name: "the event page shows the payload and its fan-out", method: "GET", path: "/events/{sandboxEvent}", status: 200,
			has: []string{"{sandboxDelivery}", `href="/users/{newUser}"`, `href="/deliveries?user={newUser}"`}},
		{name: "the event list shows the mode's events", method: "GET", path: "/events", status: 200,
			has: []string{"{sandboxEvent}", "test event"}, hasNot: []string{"{prodEvent}"}},
		{name: "the event list filters by user", method: "GET", path: "/events?user={newUser}", status: 200,
			has: []string{"{sandboxEvent}"}, hasNot: []string{"test event"}},
		{name: "the user page links its events and deliveries", method: "GET", path: "/users/{newUser}", status: 200,
			has: []string{`href="/events/{sandboxEvent}"`, `href="/deliveries/{sandboxDelivery}"`, `href="/webhooks/{sandboxEndpoint}"`}},
		{name: "search by delivery id lands on the delivery", method: "GET", path: "/search?q={sandboxDelivery}", status: 303, located: "/deliveries/{sandboxDelivery}"},
		{name: "search by event id lands on the event", method: "GET", path: "/search?q={sandboxEvent}", status: 303, located: "/events/{sandboxEvent}"},
		{name: "recover once confirmed enables the endpoint and queues its failed deliveries", method: "POST", path: "/webhooks/{failedEndpoint}/recover",
			form: url.Values{"since": {"2000-01-01T00:00"}, "confirm": {"yes"}}, status: 303, located: "/webhooks/{failedEndpoint}?recovered=1"},
	})
	t.Run("the recovered delivery is sent again", func(t *testing.T) {
		d := settle(t, f.app.store, models.Sandbox, f.failedDelivery, models.DeliveryFailed)
		if got := len(d.Attempts); got != 2 {
			t.Fatalf("%d attempts, want 2 (the first and the recovery's)", got)
		}
		if got := d.Attempts[1].Trigger; got != models.TriggerManual {
			t.Fatalf("recovery attempt is %s, want MANUAL", got)
		}
	})
	f.run(t, admin, []pageCase{
		{name: "deleting a sandbox endpoint asks first", method: "POST", path: "/webhooks/{failedEndpoint}/delete", status: 200,
			has: []string{`data-testid="confirm"`, "Delete endpoint gone-endpoint?"}},
		{name: "deleting a sandbox endpoint once confirmed keeps its deliveries", method: "POST", path: "/webhooks/{failedEndpoint}/delete",
			form: url.Values{"confirm": {"yes"}}, status: 303, follow: true, has: []string{"Endpoint gone-endpoint deleted."}, goneOnReload: []string{"Endpoint gone-endpoint deleted."}},
		{name: "a deleted endpoint's deliveries still name it", method: "GET", path: "/deliveries/{failedDelivery}", status: 200,
			has: []string{"gone-endpoint", ">deleted<", "The endpoint was deleted"}},
		{name: "the audit log records endpoint changes, secrets, tests, resends and recoveries", method: "GET", path: "/audit", status: 200,
			has: []string{"webhook_created", "webhook_updated", "webhook_secret_revealed", "webhook_secret_rotated", "webhook_test_sent",
				"delivery_resent", "webhook_failed_recovered", "webhook_enabled", "webhook_deleted"}},
		{name: "the audit log filters by action", method: "GET", path: "/audit?action=webhook_secret_revealed", status: 200,
			has: []string{"webhook_secret_revealed", `href="/webhooks/{sandboxEndpoint}"`}, hasNot: []string{`<span class="badge muted">signed_in</span>`}},
		{name: "the audit log filters by target", method: "GET", path: "/audit?target={sandboxDelivery}", status: 200,
			has: []string{`<span class="badge muted">delivery_resent</span>`}, hasNot: []string{`<span class="badge muted">webhook_created</span>`}},
		{name: "the audit log filters by time", method: "GET", path: "/audit?to=2000-01-01", status: 200, has: []string{"No entries match"}},
		{name: "the audit log explains a bad filter beside its field", method: "GET", path: "/audit?action=nope&from=x", status: 400,
			has: []string{"Choose one of the listed actions.", "Use a time like"}},
	})
	t.Run("the test event reached the receiver naming the test user", func(t *testing.T) {
		deadline := time.Now().Add(5 * time.Second)
		for {
			for _, h := range f.rc.received() {
				if strings.Contains(h.Body, models.TestEventUserID) {
					return
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("no test event arrived")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func TestWebhookPagesInProduction(t *testing.T) {
	f := newWebhookFixture(t)
	admin := f.app.signedIn(t, models.RoleAdmin)
	admin.post("/mode", url.Values{"mode": {"PRODUCTION"}})
	f.run(t, admin, []pageCase{
		{name: "the production endpoint list does not show sandbox endpoints", method: "GET", path: "/webhooks", status: 200,
			has: []string{"prod-only-endpoint"}, hasNot: []string{"crm &lt;b&gt;hook", "gone-endpoint"}},
		{name: "a sandbox delivery does not exist in production", method: "GET", path: "/deliveries/{sandboxDelivery}", status: 404},
		{name: "a sandbox endpoint does not exist in production", method: "GET", path: "/webhooks/{sandboxEndpoint}", status: 404},
		{name: "the log refreshes itself while a delivery is pending", method: "GET", path: "/deliveries", status: 200,
			has: []string{"{prodDelivery}", `name="tokendesk-refresh"`, `data-testid="live"`}, hasNot: []string{"{sandboxDelivery}"}},
		{name: "an http URL is refused in production beside the field", method: "POST", path: "/webhooks",
			form: url.Values{"name": {"plain"}, "url": {"http://example.com/hook"}, "eventTypes": {"USER_CREATED"}, "active": {"true"}}, status: 400,
			has: []string{"Url must begin with https:// in PRODUCTION", `value="http://example.com/hook"`}},
		{name: "resending a production delivery asks first", method: "POST", path: "/deliveries/{prodDelivery}/resend", status: 200,
			has: []string{`data-testid="confirm"`, "Resend delivery {prodDelivery}?", "This changes live data."}},
		{name: "deleting a production endpoint asks first", method: "POST", path: "/webhooks/{prodEndpoint}/delete", status: 200,
			has: []string{`data-testid="confirm"`, "Delete endpoint prod-only-endpoint?"}},
		{name: "rotating a production secret asks first and carries the new secret", method: "POST", path: "/webhooks/{prodEndpoint}/rotate",
			form: url.Values{"secret": {"typed-secret"}}, status: 200, has: []string{`data-testid="confirm"`, `value="typed-secret"`}},
		{name: "setting a production endpoint inactive asks first and carries the form", method: "POST", path: "/webhooks/{prodEndpoint}",
			form: url.Values{"name": {"prod-only-endpoint"}, "url": {"https://receiver.example/hook"}, "eventTypes": {"ALL_EVENTS"}}, status: 200,
			has: []string{`data-testid="confirm"`, `name="eventTypesJoined" value="ALL_EVENTS"`}},
		{name: "setting it inactive once confirmed saves", method: "POST", path: "/webhooks/{prodEndpoint}",
			form: url.Values{"name": {"prod-only-endpoint"}, "url": {"https://receiver.example/hook"}, "eventTypesJoined": {"ALL_EVENTS"}, "confirm": {"yes"}}, status: 303,
			located: "/webhooks/{prodEndpoint}?saved=1"},
		{name: "the inactive endpoint offers to enable it", method: "GET", path: "/webhooks/{prodEndpoint}", status: 200,
			has: []string{`data-testid="inactive-notice"`, `data-testid="enable-webhook"`}},
		{name: "enabling it goes back to its page", method: "POST", path: "/webhooks/{prodEndpoint}/enable", status: 303, located: "/webhooks/{prodEndpoint}?enabled=1"},
	})
}

func TestSupportResendsButDoesNotChangeEndpoints(t *testing.T) {
	f := newWebhookFixture(t)
	support := f.app.signedIn(t, models.RoleSupport)
	f.run(t, support, []pageCase{
		{name: "support reads the endpoint page without secret or edit controls", method: "GET", path: "/webhooks/{sandboxEndpoint}", status: 200,
			has:    []string{"{receiver}/hook", "Your role may not see or change the secret."},
			hasNot: []string{`data-testid="reveal-secret"`, `data-testid="webhook-form"`, `data-testid="delete-webhook"`, `data-testid="send-test"`, "s3cret-value"}},
		{name: "support sees no new-endpoint button", method: "GET", path: "/webhooks", status: 200, hasNot: []string{`data-testid="new-webhook"`}},
		{name: "support may not edit an endpoint", method: "POST", path: "/webhooks/{sandboxEndpoint}",
			form: url.Values{"name": {"hijacked"}, "url": {"{receiver}/x"}, "eventTypes": {"USER_CREATED"}, "active": {"true"}}, status: 403,
			has: []string{"Your role (support) may not do this"}},
		{name: "support may not reveal a secret", method: "POST", path: "/webhooks/{sandboxEndpoint}/secret", status: 403, hasNot: []string{"s3cret-value"}},
		{name: "support sees the resend button", method: "GET", path: "/deliveries/{sandboxDelivery}", status: 200, has: []string{`data-testid="resend"`}},
		{name: "support may resend a delivery", method: "POST", path: "/deliveries/{sandboxDelivery}/resend", status: 303, located: "/deliveries/{sandboxDelivery}?resent=1"},
	})
	ep, err := f.app.store.GetWebhookEndpoint(t.Context(), models.Sandbox, f.sandboxEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	if ep.Name == "hijacked" {
		t.Fatal("support renamed the endpoint")
	}
	d := settle(t, f.app.store, models.Sandbox, f.sandboxDelivery, models.DeliverySucceeded)
	if got := d.Attempts[len(d.Attempts)-1]; got.Trigger != models.TriggerManual || got.TriggeredBy != "console:support@example.com" {
		t.Fatalf("last attempt %s by %q, want MANUAL by support", got.Trigger, got.TriggeredBy)
	}
}
