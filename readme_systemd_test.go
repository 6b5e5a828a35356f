package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/unit"

	"tokendesk/web"
)

// TestReadmeSystemdUnitParses holds the README's example unit to what
// systemd reads and to the settings tokendesk takes, so a renamed flag or
// variable cannot leave it wrong.
func TestReadmeSystemdUnitParses(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "An example systemd unit")
	if !ok {
		t.Fatal("the README has no example systemd unit")
	}
	_, block, ok := strings.Cut(after, "```ini\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 {
		t.Fatal("the example unit is not in an ini code block")
	}
	opts, err := unit.DeserializeOptions(strings.NewReader(block))
	if err != nil {
		t.Fatalf("systemd would not read the unit: %v", err)
	}
	sections := map[string]bool{}
	var execStart string
	env := map[string]string{}
	for _, o := range opts {
		sections[o.Section] = true
		switch {
		case o.Section == "Service" && o.Name == "ExecStart":
			execStart = o.Value
		case o.Section == "Service" && o.Name == "Environment":
			k, v, ok := strings.Cut(o.Value, "=")
			if !ok {
				t.Errorf("Environment=%s is not KEY=VALUE", o.Value)
			}
			env[k] = v
		}
	}
	for _, s := range []string{"Unit", "Service", "Install"} {
		if !sections[s] {
			t.Errorf("no [%s] section", s)
		}
	}
	args := strings.Fields(execStart)
	if len(args) < 2 || !strings.HasSuffix(args[0], "/tokendesk") || args[1] != "serve" {
		t.Fatalf("ExecStart=%s does not run tokendesk serve", execStart)
	}
	asked := map[string]bool{}
	getenv := func(k string) string { asked[k] = true; return env[k] }
	if _, rest, err := web.ParseConfig("tokendesk serve", args[2:], getenv, io.Discard); err != nil || len(rest) > 0 {
		t.Fatalf("tokendesk would refuse ExecStart's settings: %v %v", err, rest)
	}
	for k := range env {
		if !asked[k] {
			t.Errorf("Environment names %s, which tokendesk does not read", k)
		}
	}
}
