package webhooks

import (
	"crypto/hmac"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func verifier(t *testing.T, secret string) *standardwebhooks.Webhook {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString([]byte(secret)))
	if err != nil {
		t.Fatal(err)
	}
	return wh
}

// independentSmileSignature computes the contract's signature without our code.
func independentSmileSignature(secret string, body []byte) string {
	m := hmac.New(sha512.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestSign(t *testing.T) {
	body := []byte(`{"id":"17bbf36498de4d68a0d4f86c7b62f69f","version":1}`)
	now := time.Now()

	t.Run("the official library verifies the signature", func(t *testing.T) {
		h := http.Header{}
		Sign(h, []string{"a little secret"}, "evt1", now, body)
		if err := verifier(t, "a little secret").Verify(body, h); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("both secrets verify during a rotation", func(t *testing.T) {
		h := http.Header{}
		Sign(h, []string{"new secret", "old secret"}, "evt1", now, body)
		for _, secret := range []string{"new secret", "old secret"} {
			if err := verifier(t, secret).Verify(body, h); err != nil {
				t.Fatalf("%s: %v", secret, err)
			}
		}
		if got, want := h.Get(HeaderSmileSignature), independentSmileSignature("new secret", body); got != want {
			t.Fatalf("Smile-Signature uses the current secret: got %s, want %s", got, want)
		}
	})

	t.Run("a worker's reused signer matches a fresh one request after request", func(t *testing.T) {
		var sg signer
		for i, c := range []struct {
			secrets []string
			body    string
		}{
			{[]string{"one"}, "first"}, {[]string{"two", "one"}, "second"}, {[]string{"one"}, "third body, longer"},
		} {
			got, want := http.Header{}, http.Header{}
			sg.sign(got, c.secrets, "evt", now, []byte(c.body))
			Sign(want, c.secrets, "evt", now, []byte(c.body))
			for _, k := range []string{HeaderSmileSignature, HeaderWebhookSignature} {
				if got.Get(k) != want.Get(k) {
					t.Fatalf("request %d, %s: got %s, want %s", i, k, got.Get(k), want.Get(k))
				}
			}
		}
	})

	t.Run("a changed body fails verification", func(t *testing.T) {
		h := http.Header{}
		Sign(h, []string{"a little secret"}, "evt1", now, body)
		if err := verifier(t, "a little secret").Verify(append(body, ' '), h); err == nil {
			t.Fatal("verified a body that was not signed")
		}
	})

	t.Run("a wrong secret fails verification", func(t *testing.T) {
		h := http.Header{}
		Sign(h, []string{"a little secret"}, "evt1", now, body)
		if err := verifier(t, "another secret").Verify(body, h); err == nil {
			t.Fatal("verified with the wrong secret")
		}
	})
}

func TestDeliveredRequestsAreSigned(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	rc := newReceiver(t, status(200))
	const secret = "a little secret"
	createEndpoint(t, s, models.Sandbox, rc.URL+"/hook", secret)
	startDispatcher(t, s, testConfig())

	u := createUser(t, s, models.Sandbox)
	eventually(t, 2*time.Second, "the receiver got nothing", func() bool { return rc.count() == 1 })
	got := rc.requests()[0]

	t.Run("the body is the stored event payload byte for byte", func(t *testing.T) {
		if got, want := string(got.Body), u.Event.Payload; got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
	t.Run("the official Standard Webhooks library verifies what arrived", func(t *testing.T) {
		if err := verifier(t, secret).Verify(got.Body, got.Header); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Smile-Signature is the HMAC-SHA512 of the bytes that arrived", func(t *testing.T) {
		if got, want := got.Header.Get("Smile-Signature"), independentSmileSignature(secret, got.Body); got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
	t.Run("webhook-id is the event id", func(t *testing.T) {
		if got, want := got.Header.Get("webhook-id"), u.Event.ID; got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
	t.Run("the content type is JSON", func(t *testing.T) {
		if got := got.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
			t.Fatalf("got %q", got)
		}
	})
	t.Run("the attempt records the request and the answer", func(t *testing.T) {
		d := settled(t, s, models.Sandbox, u.Event.ID, models.DeliverySucceeded, 1)
		a := d.Attempts[0]
		if a.Number != 1 || a.Trigger != models.TriggerAutomatic || a.ResponseStatus != 200 || a.Error != "" {
			t.Fatalf("got %+v", a)
		}
		if a.RequestBody != u.Event.Payload || a.RequestHeaders[http.CanonicalHeaderKey(HeaderWebhookID)] != u.Event.ID || a.URL != rc.URL+"/hook" {
			t.Fatalf("request not recorded as sent: %+v", a)
		}
		if a.RequestHeaders[http.CanonicalHeaderKey(HeaderSmileSignature)] == "" || strings.Contains(strings.Join(values(a.RequestHeaders), " "), secret) {
			t.Fatalf("request headers should hold the signature and never the secret: %v", a.RequestHeaders)
		}
	})
}

func values(m map[string]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
