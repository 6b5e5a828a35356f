package models_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

func TestProductionEndpointURLsMustBePublic(t *testing.T) {
	s := modelstest.MustOpenStore(t)
	create := func(mode models.Mode, url string) error {
		_, err := s.CreateWebhookEndpoint(context.Background(), mode, models.WebhookInput{
			Name: ptr("n"), URL: ptr(url), EventTypes: []string{"USER_CREATED"}, Active: ptr(true), Secret: ptr("s"),
		})
		return err
	}
	for _, url := range []string{
		"https://127.0.0.1/h", "https://127.1/h", "https://0x7f000001/h", "https://2130706433/h", "https://0177.0.0.1/h",
		"https://[::ffff:127.0.0.1]/h", "https://[::1]/h", "https://[::127.0.0.1]/h", "https://[64:ff9b::a00:1]/h",
		"https://10.0.0.1/h", "https://169.254.169.254/latest", "https://192.88.99.1/h", "https://[2001:10::1]/h",
		"https://[fe80::1%25eth0]/h", "https://0/h",
		"https://localhost/h", "https://LOCALHOST./h", "https://api.localhost/h",
		"https://user:pw@example.com/h", "https://user@example.com/h",
		"https://example.com:0/h", "https://example.com:70000/h", "https://example.com:/h",
		"https://0x5db8d822/h", // a public address, but in a spelling resolvers disagree on
	} {
		err := create(models.Production, url)
		if models.ErrorCode(err) != models.CodeInvalidParameters || !strings.Contains(err.Error(), "(url)") {
			t.Errorf("%s: got %v, want INVALID_PARAMETERS naming url", url, err)
		}
	}
	for _, url := range []string{"https://example.com/h", "https://93.184.216.34:8443/h", "https://[2606:4700::1111]/h"} {
		if err := create(models.Production, url); err != nil {
			t.Errorf("%s: got %v, want accepted", url, err)
		}
	}
	if err := create(models.Sandbox, "http://localhost:3000/h"); err != nil {
		t.Errorf("SANDBOX refused localhost: %v", err)
	}
	t.Run("an allowed private range may be named", func(t *testing.T) {
		s.AllowPrivate = []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}
		defer func() { s.AllowPrivate = nil }()
		if err := create(models.Production, "https://10.20.1.2/h"); err != nil {
			t.Errorf("got %v, want accepted", err)
		}
		if err := create(models.Production, "https://10.21.1.2/h"); err == nil {
			t.Error("a range next to the allowed one was accepted")
		}
	})
	t.Run("an update is held to the same rules", func(t *testing.T) {
		ep, err := s.CreateWebhookEndpoint(context.Background(), models.Production, models.WebhookInput{
			Name: ptr("n"), URL: ptr("https://example.com/h"), EventTypes: []string{"USER_CREATED"}, Active: ptr(true), Secret: ptr("s"),
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.UpdateWebhookEndpoint(context.Background(), models.Production, ep.ID, models.WebhookInput{URL: ptr("https://127.1/h")})
		if models.ErrorCode(err) != models.CodeInvalidParameters {
			t.Errorf("got %v, want INVALID_PARAMETERS", err)
		}
	})
}

func TestParseIPLiteral(t *testing.T) {
	for host, want := range map[string]string{
		"127.1": "127.0.0.1", "0x7f000001": "127.0.0.1", "2130706433": "127.0.0.1", "0177.0.0.1": "127.0.0.1",
		"10.1.65535": "10.1.255.255", "[::1]": "::1", "0": "0.0.0.0",
	} {
		a, _, ok := models.ParseIPLiteral(host)
		if !ok || a.String() != want {
			t.Errorf("%s: got %v %v, want %s", host, a, ok, want)
		}
	}
	for _, host := range []string{"example.com", "1.2.3.4.5", "256.1.1.1", "08.1.1.1", "0x"} {
		if a, _, ok := models.ParseIPLiteral(host); ok {
			t.Errorf("%s: read as %s, want a name", host, a)
		}
	}
}
