package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"tokendesk/models"
)

func TestOperatorPages(t *testing.T) {
	f := newConsoleFixture(t)
	admin := f.app.signedIn(t, models.RoleAdmin)
	support := f.app.signedIn(t, models.RoleSupport) // a live session to see and revoke
	ctx := t.Context()
	ops, err := f.app.store.ListOperators(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, o := range ops {
		ids[o.Email] = o.ID
	}
	f.replace = strings.NewReplacer("{support}", ids["support@example.com"], "{admin}", ids[testAdminEmail])
	f.run(t, admin, []pageCase{
		{name: "the operator list links each operator", method: "GET", path: "/operators", status: 200, has: []string{`href="/operators/{support}"`}},
		{name: "an operator's page shows their role and live session", method: "GET", path: "/operators/{support}", status: 200,
			has: []string{`data-testid="operator-role">support<`, `data-testid="session-row"`, `data-testid="revoke-all-sessions"`, "signed_in"}},
		{name: "an unknown operator is a 404 page", method: "GET", path: "/operators/nope", status: 404},
		{name: "a bad role is refused beside the field", method: "POST", path: "/operators/{support}/role", form: url.Values{"role": {"owner"}}, status: 400,
			has: []string{"Choose support, developer or admin."}},
		{name: "changing the role says so", method: "POST", path: "/operators/{support}/role", form: url.Values{"role": {"developer"}}, status: 303, follow: true,
			has: []string{"support@example.com is now developer.", `data-testid="operator-role">developer<`}, goneOnReload: []string{"is now developer."}},
		{name: "an admin cannot change their own role", method: "POST", path: "/operators/{admin}/role", form: url.Values{"role": {"support"}}, status: 400,
			has: []string{"You cannot change your own role"}},
		{name: "signing someone out everywhere asks first", method: "POST", path: "/operators/{support}/sessions/revoke", status: 200,
			has: []string{`data-testid="confirm"`}},
		{name: "signing someone out everywhere ends their sessions", method: "POST", path: "/operators/{support}/sessions/revoke", form: url.Values{"confirm": {"yes"}},
			status: 303, follow: true, has: []string{"was signed out of 1 session."}},
		{name: "the audit log records the role change and the sign-out", method: "GET", path: "/audit?target={support}", status: 200,
			has: []string{"operator_role_changed", "support → developer", "operator_sessions_revoked"}},
		{name: "the audit log filters by operator", method: "GET", path: "/audit?operator={admin}", status: 200,
			has: []string{"operator_role_changed"}},
	})
	t.Run("the signed-out operator is sent to sign in", func(t *testing.T) {
		resp := support.do(http.MethodGet, "/", nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Fatalf("status %d to %q, want a redirect to sign in", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("the last admin cannot be demoted", func(t *testing.T) {
		if _, err := f.app.store.SetOperatorRole(ctx, ids[testAdminEmail], models.RoleSupport); err == nil || !strings.Contains(err.Error(), "last enabled admin") {
			t.Fatalf("got %v, want a refusal naming the last admin", err)
		}
	})
}

func TestOperatorEnableAndTheLastAdmin(t *testing.T) {
	f := newConsoleFixture(t)
	admin := f.app.signedIn(t, models.RoleAdmin)
	ctx := t.Context()
	sup, err := f.app.store.CreateOperator(ctx, "sam@example.com", testPassword, models.RoleSupport)
	if err != nil {
		t.Fatal(err)
	}
	f.replace = strings.NewReplacer("{sam}", sup.ID)
	f.run(t, admin, []pageCase{
		{name: "disabling asks first", method: "POST", path: "/operators/{sam}/disable", status: 200, has: []string{`data-testid="confirm"`}},
		{name: "disabling once confirmed says so after the redirect", method: "POST", path: "/operators/{sam}/disable", form: url.Values{"confirm": {"yes"}},
			status: 303, follow: true, has: []string{"sam@example.com is disabled", `data-testid="enable-operator"`}},
		{name: "a disabled operator's page offers to enable them", method: "GET", path: "/operators/{sam}", status: 200, has: []string{`data-testid="enable-operator"`}},
		{name: "enabling says so after the redirect", method: "POST", path: "/operators/{sam}/enable", status: 303, follow: true,
			has: []string{"sam@example.com is enabled and can sign in again.", `data-testid="disable-operator"`}, goneOnReload: []string{"is enabled and can sign in again."}},
		{name: "the audit log records both", method: "GET", path: "/audit?target={sam}", status: 200, has: []string{"operator_disabled", "operator_enabled"}},
	})
	t.Run("the enabled operator signs in again", func(t *testing.T) {
		f.app.client(t).signIn("sam@example.com", testPassword)
	})
	t.Run("the last enabled admin cannot be disabled", func(t *testing.T) {
		ops, err := f.app.store.ListOperators(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range ops {
			if o.Email == testAdminEmail {
				_, err := f.app.store.DisableOperator(ctx, o.ID)
				if models.ErrorCode(err) != models.CodeConflict || !strings.Contains(err.Error(), "last enabled admin") {
					t.Fatalf("got %v, want a refusal naming the last admin", err)
				}
			}
		}
	})
	t.Run("with a second admin, one may be disabled but then not the other", func(t *testing.T) {
		second, err := f.app.store.CreateOperator(ctx, "second@example.com", testPassword, models.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.app.store.DisableOperator(ctx, second.ID); err != nil {
			t.Fatalf("disable one of two admins: %v", err)
		}
		if _, err := f.app.store.EnableOperator(ctx, second.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.app.store.DisableOperator(ctx, testAdminEmail); err != nil {
			t.Fatalf("disable the other of two admins: %v", err)
		}
		if _, err := f.app.store.SetOperatorRole(ctx, second.ID, models.RoleSupport); models.ErrorCode(err) != models.CodeConflict {
			t.Fatalf("demoting the last enabled admin: got %v", err)
		}
	})
}
