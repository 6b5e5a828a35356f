package views

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"
)

func renderDoc(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func page(mode string, can Perms) Page {
	return Page{Title: "t", Section: "users", Mode: mode, Operator: "a@example.com", Role: "admin", CSRF: "tok", CSS: "/static/c.css", JS: "/static/c.js", Now: now, Can: can}
}

func TestLayout(t *testing.T) {
	for _, c := range []struct {
		name       string
		mode       string
		can        Perms
		banner     int
		pressed    string
		keysTab    int
		operatorsT int
	}{
		{"a sandbox page carries the banner and marks SANDBOX pressed", "SANDBOX", Perms{Keys: true, Operators: true}, 1, "mode-sandbox", 1, 1},
		{"a production page has no sandbox banner", "PRODUCTION", Perms{Keys: true}, 0, "mode-production", 1, 0},
		{"a support operator sees no keys or operators tab", "SANDBOX", Perms{}, 1, "mode-sandbox", 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			doc := renderDoc(t, UsersList(page(c.mode, c.can), UsersView{}))
			if got := doc.Find(`[data-testid=sandbox-banner]`).Length(); got != c.banner {
				t.Errorf("banners: got %d, want %d", got, c.banner)
			}
			if got, _ := doc.Find(`[data-testid=` + c.pressed + `]`).Attr("aria-pressed"); got != "true" {
				t.Errorf("%s aria-pressed = %q", c.pressed, got)
			}
			if got := doc.Find(`[data-testid=tab-keys]`).Length(); got != c.keysTab {
				t.Errorf("keys tab: got %d, want %d", got, c.keysTab)
			}
			if got := doc.Find(`[data-testid=tab-operators]`).Length(); got != c.operatorsT {
				t.Errorf("operators tab: got %d, want %d", got, c.operatorsT)
			}
			doc.Find("form[method=post]").Each(func(_ int, f *goquery.Selection) {
				if v, _ := f.Find(`input[name=_csrf]`).Attr("value"); v != "tok" {
					t.Errorf("a POST form to %s has no CSRF token", f.AttrOr("action", "?"))
				}
			})
			if doc.Find(`[style]`).Length() != 0 || doc.Find(`script:not([src])`).Length() != 0 {
				t.Error("inline style or script: the CSP forbids them")
			}
		})
	}
}

func TestUserShowShowsUserValuesAsText(t *testing.T) {
	exp := now.Add(90 * time.Minute)
	doc := renderDoc(t, UserShow(page("SANDBOX", Perms{RefreshToken: true, RevokeTokens: true}), UserView{
		ID: "acme-1", CreatedAt: now.Add(-time.Hour),
		Metadata: []Pair{{Key: "<k>", Value: `<script>alert("x")</script>`}},
		Tokens: []TokenRow{
			{ID: "tk-a", Status: "active", IssuedAt: now, ExpiresAt: exp},
			{ID: "tk-b", Status: "expired", IssuedAt: now.Add(-6 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
		},
	}))
	if got := doc.Find(`[data-testid=metadata] dd`).Text(); got != `<script>alert("x")</script>` {
		t.Fatalf("metadata value reads %q", got)
	}
	if doc.Find(`[data-testid=metadata] script`).Length() != 0 {
		t.Fatal("a metadata value became a script element")
	}
	t.Run("an active token counts down and can be revoked", func(t *testing.T) {
		row := doc.Find(`[data-token-id=tk-a]`)
		if got := row.Find(`time[data-countdown]`).Text(); got != "expires in 1 h 30 min" {
			t.Errorf("countdown reads %q", got)
		}
		if got, _ := row.Find(`time[data-countdown]`).Attr("title"); got != "2026-03-01 13:30:00 UTC" {
			t.Errorf("exact time on hover is %q", got)
		}
		if row.Find(`[data-testid=revoke-token]`).Length() != 1 {
			t.Error("no revoke button")
		}
	})
	t.Run("an expired token shows its badge and no revoke button", func(t *testing.T) {
		row := doc.Find(`[data-token-id=tk-b]`)
		if got := strings.TrimSpace(row.Find(`.badge`).Text()); got != "expired" {
			t.Errorf("badge %q", got)
		}
		if row.Find(`[data-testid=revoke-token]`).Length() != 0 {
			t.Error("an expired token offers revoke")
		}
	})
}

func TestSpan(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 s"}, {time.Second, "1 s"}, {59 * time.Second, "59 s"}, {time.Minute, "1 min"},
		{2*time.Hour + 5*time.Minute, "2 h 5 min"}, {4*time.Hour + 59*time.Minute, "4 h 59 min"}, {7 * time.Hour, "7 h"},
		{50 * time.Hour, "2 d 2 h"}, {30 * 24 * time.Hour, "30 d"}, {8*24*time.Hour + 5*time.Hour, "8 d"},
	} {
		if got := Span(c.d); got != c.want {
			t.Errorf("Span(%s) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestBuildChartScalesToTheBusiestHour(t *testing.T) {
	hours := make([]ChartHour, 24)
	hours[23] = ChartHour{Start: now, Succeeded: 30, Failed: 10}
	hours[0] = ChartHour{Start: now.Add(-23 * time.Hour), Succeeded: 20}
	c := BuildChart(hours, 960, 170)
	if c.Max != 40 || c.Empty {
		t.Fatalf("max %d, empty %v", c.Max, c.Empty)
	}
	full := c.Bars[23].Segments[0].H + c.Bars[23].Segments[1].H
	if half := c.Bars[0].Segments[0].H; half*2 != full {
		t.Fatalf("a 20 bar is %.1f high, the 40 bar %.1f", half, full)
	}
	if len(c.Bars[5].Segments) != 0 {
		t.Fatal("an empty hour has a bar")
	}
}

func TestWhenShowsTheAbsoluteTimeInTheOperatorsZone(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC).In(paris) // the handler passes now in the operator's zone
	for _, c := range []struct {
		name     string
		t        time.Time
		rel, abs string
	}{
		{"this year: day, month and time in Paris", time.Date(2026, 12, 1, 22, 57, 0, 0, time.UTC), "3 min ago", "1 Dec 23:57"},
		{"another year: with the year", time.Date(2025, 6, 30, 10, 0, 0, 0, time.UTC), "", "30 Jun 2025 12:00"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b strings.Builder
			if err := When(c.t, now).Render(context.Background(), &b); err != nil {
				t.Fatal(err)
			}
			doc, _ := goquery.NewDocumentFromReader(strings.NewReader(b.String()))
			if got := doc.Find(`[data-testid=abs-time]`).Text(); got != c.abs {
				t.Errorf("absolute %q, want %q", got, c.abs)
			}
			if got := doc.Find(`time[data-relative]`).Text(); c.rel != "" && got != c.rel {
				t.Errorf("relative %q, want %q", got, c.rel)
			}
			if title, _ := doc.Find(`time`).Attr("title"); !strings.HasSuffix(title, "CET") && !strings.HasSuffix(title, "CEST") {
				t.Errorf("tooltip %q is not in the operator's zone", title)
			}
		})
	}
}

// A capped count of active tokens reads as "at least": the number with a
// plus, and a note that counting stopped there.
func TestDashboardSaysWhenTheActiveTokensCountStopped(t *testing.T) {
	for _, c := range []struct {
		capped      bool
		value       string
		saysStopped bool
	}{{false, "1,234", false}, {true, "100,000+", true}} {
		n := int64(1234)
		if c.capped {
			n = 100_000
		}
		doc := renderDoc(t, Dashboard(page("SANDBOX", Perms{}), DashboardView{ActiveTokens: n, ActiveTokensCapped: c.capped,
			Chart: BuildChart(make([]ChartHour, 24), 960, 170)}))
		stat := doc.Find(`[data-testid="stat-active-tokens"]`)
		if got := strings.TrimSpace(stat.Find(".value").Text()); got != c.value {
			t.Errorf("capped %v: value %q, want %q", c.capped, got, c.value)
		}
		if got := strings.Contains(stat.Find(".note").Text(), "counted no further"); got != c.saysStopped {
			t.Errorf("capped %v: note %q", c.capped, stat.Find(".note").Text())
		}
	}
}
