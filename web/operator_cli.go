package web

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"

	"tokendesk/models"
)

// operator runs "tokendesk operator create|list|disable".
func (cli *CLI) operator(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("say create, list or disable")
	}
	sub, args := args[0], args[1:]
	var email, password, role string
	store, rest, err := cli.openStore("tokendesk operator "+sub, args, func(fs *flag.FlagSet) {
		if sub == "create" {
			fs.StringVar(&email, "email", "", "the operator's email, used to sign in")
			fs.StringVar(&password, "password", "", fmt.Sprintf("at least %d characters", models.MinPasswordLen))
			fs.StringVar(&role, "role", "", "admin, developer or support")
		}
	})
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "create":
		if len(rest) > 0 {
			return fmt.Errorf("unexpected arguments: %v", rest)
		}
		r, err := models.ParseRole(role)
		if err != nil {
			return errors.New("--role must be admin, developer or support")
		}
		if fe := models.ValidateOperatorInput(email, password, r); len(fe) > 0 {
			for _, f := range []string{"email", "password"} {
				if m, ok := fe[f]; ok {
					return fmt.Errorf("--%s: %s", f, m)
				}
			}
		}
		op, err := store.CreateOperator(ctx, email, password, r)
		if err != nil {
			if e, ok := models.AsError(err); ok && e.Field != "" {
				return fmt.Errorf("--%s: %s", e.Field, e.Message)
			}
			return err
		}
		fmt.Fprintf(cli.Stdout, "Created %s %s. They can sign in to the console now.\n", op.Role, op.Email)
		return nil
	case "list":
		ops, err := store.ListOperators(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(cli.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "EMAIL\tROLE\tCREATED\tLAST SIGN-IN\tSTATUS")
		for _, o := range ops {
			last, status := "-", "enabled"
			if o.LastLoginAt != nil {
				last = models.FormatTime(*o.LastLoginAt)
			}
			if o.DisabledAt != nil {
				status = "disabled " + models.FormatTime(*o.DisabledAt)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.Email, o.Role, models.FormatTime(o.CreatedAt), last, status)
		}
		return tw.Flush()
	case "disable":
		if len(rest) != 1 {
			return errors.New("say whom to disable: tokendesk operator disable EMAIL")
		}
		op, err := store.DisableOperator(ctx, rest[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(cli.Stdout, "Disabled %s: signed out everywhere, and can no longer sign in.\n", op.Email)
		return nil
	}
	return fmt.Errorf("unknown operator command %q: say create, list or disable", sub)
}

// printConsoleBanner tells how to sign in to the console, and on the first
// start prints the first admin's credentials, once.
func (a *App) printConsoleBanner(w io.Writer, addr string) {
	fmt.Fprintf(w, "  Console: http://%s/login\n", addr)
	fa := a.firstAdmin
	if fa == nil {
		return
	}
	a.firstAdmin = nil
	fmt.Fprintf(w, "  First start: created the admin operator %s\n", fa.Email)
	if fa.FromEnv {
		fmt.Fprintln(w, "    password: the one set in TOKENDESK_ADMIN_PASSWORD")
	} else {
		fmt.Fprintf(w, "    password: %s\n", fa.Password)
		fmt.Fprintln(w, "    This password is shown only now. Add more operators in the console or with \"tokendesk operator create\".")
	}
}
