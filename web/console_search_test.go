package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tokendesk/models"
)

func TestConsoleSearchLandsWhereATicketPoints(t *testing.T) {
	a := newConsoleApp(t)
	ctx := t.Context()
	mk := func(md models.Metadata) *models.CreatedUser {
		t.Helper()
		u, err := a.store.CreateUser(ctx, models.Sandbox, md, "test")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	maria := mk(models.Metadata{"email": "maria.gonzalez@bigcorp.example"})
	mk(models.Metadata{"crm": "CUST-8841"})
	mk(models.Metadata{"crm": "CUST-8842"})
	b := a.signedIn(t, models.RoleSupport)

	t.Run("an e-mail address lands on its user, not on the inspector", func(t *testing.T) {
		resp := b.do(http.MethodGet, "/search?q="+url.QueryEscape("Maria.Gonzalez@BigCorp.example"), nil)
		if got, want := resp.StatusCode, http.StatusSeeOther; got != want {
			t.Fatalf("status %d, want %d", got, want)
		}
		if got, want := resp.Header.Get("Location"), "/users/"+maria.User.ID; got != want {
			t.Fatalf("location %q, want %q", got, want)
		}
	})
	t.Run("a Bearer token broken over lines opens the inspector's verdict", func(t *testing.T) {
		tok := maria.Token.AccessToken
		q := "Bearer " + tok[:40] + "\n" + tok[40:]
		_, doc, _ := b.page(http.MethodGet, "/search?q="+url.QueryEscape(q), nil)
		if doc.Find(`[data-testid="verdict"]`).Length() == 0 {
			t.Fatalf("no verdict on the page")
		}
	})
	t.Run("the start of several values lists each with what matched", func(t *testing.T) {
		resp, doc, _ := b.page(http.MethodGet, "/search?q=cust-88", nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		hits := doc.Find(`[data-testid="search-hit"]`)
		if got, want := hits.Length(), 2; got != want {
			t.Fatalf("%d hits, want %d", got, want)
		}
		if text := hits.First().Text(); !strings.Contains(text, "CUST-884") || !strings.Contains(text, "crm") {
			t.Fatalf("hit %q does not say what matched", text)
		}
		if msg := doc.Find(`[data-testid="search-message"]`).Text(); !strings.Contains(msg, "start with it") {
			t.Fatalf("message %q", msg)
		}
	})
	t.Run("nothing found says what the text was tried as", func(t *testing.T) {
		_, doc, _ := b.page(http.MethodGet, "/search?q=shop.nowhere.test", nil)
		tried := doc.Find(`[data-testid="search-tried"] li`)
		if tried.Length() == 0 || !strings.Contains(tried.Text(), "metadata value") {
			t.Fatalf("tried list %q", tried.Text())
		}
		if doc.Find(`[data-testid="verdict"]`).Length() != 0 {
			t.Fatal("a domain was taken for a token")
		}
	})
}
