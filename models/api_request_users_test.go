package models_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"tokendesk/models"
	"tokendesk/models/modelstest"
)

// userRequest is one logged request about user, n milliseconds after t0.
func userRequest(id string, mode models.Mode, user string, status int, t0 time.Time, n int) models.APIRequest {
	return models.APIRequest{ID: id, Mode: mode, APIKeyID: "k1", APIKey: "sk_test_k1", Method: "POST", Path: "/v1/tokens",
		UserID: user, Status: status, CreatedAt: t0.Add(time.Duration(n) * time.Millisecond)}
}

// listAll pages through a user's requests size at a time and returns their
// ids in the order listed.
func listAll(t *testing.T, s *models.Store, mode models.Mode, f models.APIRequestFilter) []string {
	t.Helper()
	var ids []string
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatal("the pages do not end")
		}
		page, err := s.ListAPIRequests(context.Background(), mode, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			ids = append(ids, r.ID)
		}
		if page.NextCursor == "" {
			return ids
		}
		if f.Cursor, err = models.DecodeCursor(page.NextCursor); err != nil {
			t.Fatal(err)
		}
	}
}

// A user's requests are listed newest first, each once, with the filters
// applied, whether their users are indexed yet or not (SQLite indexes them
// behind the log), and across a page that holds both kinds.
func TestUserRequestsListedBeforeAndAfterIndexing(t *testing.T) {
	ctx := context.Background()
	s := modelstest.MustOpenStore(t)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var batch []models.APIRequest
	var want, wantErrors []string // newest first
	wantLive := 0
	add := func(n int) {
		id := fmt.Sprintf("req-%03d", n)
		status := 201
		if n%4 == 0 {
			status = 404
			wantErrors = slices.Insert(wantErrors, 0, id)
		}
		batch = append(batch, userRequest(id, models.Sandbox, "acme-a", status, t0, n))
		want = slices.Insert(want, 0, id)
		wantLive++
		// Another user's, a request about no user, and one in the other mode.
		batch = append(batch, userRequest(fmt.Sprintf("req-%03d-b", n), models.Sandbox, "acme-b", 201, t0, n),
			userRequest(fmt.Sprintf("req-%03d-none", n), models.Sandbox, "", 201, t0, n),
			userRequest(fmt.Sprintf("req-%03d-live", n), models.Production, "acme-a", 201, t0, n))
	}
	for n := range 30 {
		add(n)
	}
	// Two at one millisecond: the id orders them.
	batch = append(batch, userRequest("req-029-twin", models.Sandbox, "acme-a", 201, t0, 29))
	want = slices.Insert(want, 0, "req-029-twin")
	record := func() {
		t.Helper()
		if err := s.RecordAPIRequests(ctx, batch); err != nil {
			t.Fatal(err)
		}
		batch = nil
	}
	user := "acme-a"
	errs, _ := models.ParseStatusClass("errors")
	check := func(when string) {
		t.Helper()
		if got := listAll(t, s, models.Sandbox, models.APIRequestFilter{UserID: &user, Size: 7}); !slices.Equal(got, want) {
			t.Errorf("%s: listed\n%q\nwant\n%q", when, got, want)
		}
		if got := listAll(t, s, models.Sandbox, models.APIRequestFilter{UserID: &user, Status: errs, Size: 3}); !slices.Equal(got, wantErrors) {
			t.Errorf("%s: errors listed\n%q\nwant\n%q", when, got, wantErrors)
		}
		live := listAll(t, s, models.Production, models.APIRequestFilter{UserID: &user, Size: 50})
		if len(live) != wantLive || slices.ContainsFunc(live, func(id string) bool { return !strings.HasSuffix(id, "-live") }) {
			t.Errorf("%s: PRODUCTION lists %q", when, live)
		}
	}
	record()
	check("just logged")
	if err := s.IndexRequestUsers(ctx); err != nil {
		t.Fatal(err)
	}
	check("indexed")
	for n := 30; n < 45; n++ {
		add(n)
	}
	record()
	check("partly indexed")
	if err := s.IndexRequestUsers(ctx); err != nil {
		t.Fatal(err)
	}
	check("indexed again")
	var entries int64
	if err := s.R.Table("api_request_users").Where("user_id = ?", user).Count(&entries).Error; err != nil {
		t.Fatal(err)
	}
	if entries != int64(len(want)+45) {
		t.Errorf("api_request_users holds %d entries for %s, want %d", entries, user, len(want)+45)
	}
}

// The pass that indexes the log's users writes each entry once, however
// often it runs, and an index left behind by a log emptied and started over
// (retention after a long quiet: SQLite then hands out rowids from 1 again)
// catches up with the new rows.
func TestRequestUsersIndexCatchesUpWithARestartedLog(t *testing.T) {
	ctx := context.Background()
	s := modelstest.MustOpenStore(t)
	t0 := time.Now().Add(-time.Hour)
	var rs []models.APIRequest
	for n := range 20 {
		rs = append(rs, userRequest(fmt.Sprintf("old-%02d", n), models.Sandbox, "acme-a", 201, t0, n))
	}
	if err := s.RecordAPIRequests(ctx, rs); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.IndexRequestUsers(ctx); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int64 {
		var n int64
		if err := s.R.Table("api_request_users").Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 20 {
		t.Fatalf("%d entries after three passes, want 20", n)
	}
	if err := s.W.Exec("DELETE FROM api_requests").Error; err != nil {
		t.Fatal(err)
	}
	if err := s.W.Exec("DELETE FROM api_request_users").Error; err != nil {
		t.Fatal(err)
	}
	if err := s.RecordAPIRequests(ctx, []models.APIRequest{userRequest("new-1", models.Sandbox, "acme-a", 201, t0, 100)}); err != nil {
		t.Fatal(err)
	}
	if err := s.IndexRequestUsers(ctx); err != nil {
		t.Fatal(err)
	}
	user := "acme-a"
	if got := listAll(t, s, models.Sandbox, models.APIRequestFilter{UserID: &user, Size: 10}); !slices.Equal(got, []string{"new-1"}) {
		t.Errorf("after the log started over: %q", got)
	}
	if n := count(); n != 1 {
		t.Errorf("%d entries after the log started over, want 1", n)
	}
}
