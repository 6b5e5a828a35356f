package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// TestSecretsNotInFilesOrLog runs the app the way an operator does (API,
// console rotation, deliveries signed and sent) and then looks for every
// webhook secret it made in the database, the WAL, the shm file and the
// log. The signing keys' private halves are checked the same way by the
// models' own test, which can read them.
func TestSecretsNotInFilesOrLog(t *testing.T) {
	ta := newTestApp(t, func(c *Config) { c.AdminEmail, c.AdminPassword = testAdminEmail, testAdminPassword })
	recv, hookURL := newHookLog(t)
	const first = "the-first-secret-of-this-endpoint"
	res := ta.call(t, "POST", "/v1/webhooks", ta.sandbox,
		`{"name":"Orders","url":"`+hookURL+`","eventTypes":["USER_CREATED"],"active":true,"secret":"`+first+`"}`, nil)
	if res.Status != 200 {
		t.Fatalf("create webhook: %d %s", res.Status, res.Body)
	}
	id := string(res.Env.Data)
	id = id[strings.Index(id, `"id":"`)+6:]
	id = id[:strings.Index(id, `"`)]
	console := ta.App.signedIn(t, "admin")
	const second = "the-second-secret-of-this-endpoint"
	if resp, _, body := console.post("/webhooks/"+id+"/rotate", url.Values{"secret": {second}}); resp.StatusCode >= 400 {
		t.Fatalf("rotate in the console: %d\n%s", resp.StatusCode, body)
	}
	for range 3 {
		if res := ta.call(t, "POST", "/v1/users", ta.sandbox, `{}`, nil); res.Status != 201 {
			t.Fatalf("create user: %d", res.Status)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for recv.count() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("got %d deliveries, want 3", recv.count())
		}
		time.Sleep(20 * time.Millisecond)
	}
	path := ta.cfg.DBPath
	for _, secret := range []string{first, second} {
		forms := []string{secret, base64.StdEncoding.EncodeToString([]byte(secret))}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			b, err := os.ReadFile(p)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range forms {
				if bytes.Contains(b, []byte(f)) {
					t.Errorf("%s holds the secret %q", p, f)
				}
			}
		}
		for _, f := range forms {
			if strings.Contains(ta.logs.String(), f) {
				t.Errorf("the log holds the secret %q", f)
			}
		}
	}
}
