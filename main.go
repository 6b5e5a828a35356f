// Command tokendesk issues link tokens for the Wink widget, delivers signed
// webhooks and serves the operator console, from one binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"tokendesk/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cli := &web.CLI{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(cli.Main(ctx, os.Args[1:]))
}
