package models

import (
	"path/filepath"
	"testing"
)

// The dashboard counts active tokens up to activeTokensCap and says when it
// stopped there.
func TestDashboardActiveTokensStopAtTheCap(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Path: filepath.Join(dir, "td.db"), SecretKeyFile: filepath.Join(dir, "td.key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	defer func(was int64) { activeTokensCap = was }(activeTokensCap)
	activeTokensCap = 3
	ctx := t.Context()
	made := 0
	for _, c := range []struct {
		users  int
		want   int64
		capped bool
	}{{2, 2, false}, {3, 3, true}, {5, 3, true}} {
		for ; made < c.users; made++ {
			if _, err := s.CreateUser(ctx, Sandbox, nil, "test"); err != nil {
				t.Fatal(err)
			}
		}
		d, err := s.LoadDashboard(ctx, Sandbox)
		if err != nil {
			t.Fatal(err)
		}
		if d.ActiveTokens != c.want || d.ActiveTokensCapped != c.capped {
			t.Errorf("%d users: active tokens %d (capped %v), want %d (capped %v)", c.users, d.ActiveTokens, d.ActiveTokensCapped, c.want, c.capped)
		}
	}
}
