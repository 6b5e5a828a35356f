package web

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// operator is filled in by the console work; until then it says so.
func (cli *CLI) operator(ctx context.Context, args []string) error {
	return errors.New("operators are not available yet")
}

// printConsoleBanner tells how to sign in to the console.
func (a *App) printConsoleBanner(w io.Writer, addr string) {
	fmt.Fprintf(w, "  Console: http://%s/\n", addr)
}
