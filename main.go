// Command tokendesk issues link tokens for the Wink widget, delivers signed
// webhooks and serves the operator console, from one binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"tokendesk/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli := &web.CLI{Program: program(), Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(cli.Main(ctx, os.Args[1:]))
}

// program names this binary the way the user can run it again: "go run ."
// builds into a temporary go-build directory.
func program() string {
	if strings.Contains(os.Args[0], "go-build") {
		return "go run ."
	}
	return filepath.Base(os.Args[0])
}
