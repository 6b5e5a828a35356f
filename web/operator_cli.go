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

const operatorUsage = `Usage:
  tokendesk operator create --email E --password P --role admin|developer|support
  tokendesk operator list
  tokendesk operator disable EMAIL                  signs them out everywhere
  tokendesk operator enable EMAIL                   lets a disabled operator sign in again
  tokendesk operator password --password P EMAIL    sets it and signs them out everywhere
Each takes --db (TOKENDESK_DB); "tokendesk operator create --help" shows a command's flags.
`

// operator runs "tokendesk operator create|list|disable|enable|password".
func (cli *CLI) operator(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("say create, list, disable, enable or password (tokendesk operator --help)")
	}
	sub, args := args[0], args[1:]
	if cli.subcommandHelp(sub, operatorUsage) {
		return nil
	}
	switch sub {
	case "create", "list", "disable", "enable", "password":
	default:
		return fmt.Errorf("there is no operator command %q: say create, list, disable, enable or password", sub)
	}
	var email, password, role string
	store, rest, err := cli.openStore("tokendesk operator "+sub, args, func(fs *flag.FlagSet) {
		if sub == "create" {
			fs.StringVar(&email, "email", "", "the operator's email, used to sign in")
			fs.StringVar(&password, "password", "", fmt.Sprintf("at least %d characters", models.MinPasswordLen))
			fs.StringVar(&role, "role", "", "admin, developer or support")
		}
		if sub == "password" {
			fs.StringVar(&password, "password", "", fmt.Sprintf("the new password, at least %d characters", models.MinPasswordLen))
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
		was, err := store.FindOperator(ctx, rest[0])
		if err != nil {
			return err
		}
		if was.DisabledAt != nil {
			fmt.Fprintf(cli.Stdout, "%s was already disabled, since %s.\n", was.Email, models.FormatTime(*was.DisabledAt))
			return nil
		}
		op, err := store.DisableOperator(ctx, was.ID)
		if err != nil {
			return err
		}
		if err := store.Audit(ctx, models.AuditEntry{Action: models.AuditOperatorOff, OperatorEmail: "command line",
			TargetType: "operator", TargetID: op.ID, Detail: op.Email + " (command line)"}); err != nil {
			return err
		}
		fmt.Fprintf(cli.Stdout, "Disabled %s: signed out everywhere, and can no longer sign in.\n", op.Email)
		return nil
	case "enable":
		if len(rest) != 1 {
			return errors.New("say whom to enable: tokendesk operator enable EMAIL")
		}
		op, err := store.EnableOperator(ctx, rest[0])
		if err != nil {
			return err
		}
		if err := store.Audit(ctx, models.AuditEntry{Action: models.AuditOperatorOn, OperatorEmail: "command line",
			TargetType: "operator", TargetID: op.ID, Detail: op.Email + " (command line)"}); err != nil {
			return err
		}
		fmt.Fprintf(cli.Stdout, "Enabled %s: they can sign in again.\n", op.Email)
		return nil
	case "password":
		// For the admin who is locked out, or who manages the team from a
		// shell: no current password is asked, as for a reset in the console.
		if len(rest) != 1 {
			return errors.New("say whose password to set: tokendesk operator password --password P EMAIL")
		}
		if msg := models.PasswordProblem(password); msg != "" {
			return fmt.Errorf("--password: %s", msg)
		}
		op, err := store.FindOperator(ctx, rest[0])
		if err != nil {
			return err
		}
		if err := store.SetOperatorPassword(ctx, op.ID, password, ""); err != nil {
			return err
		}
		if err := store.Audit(ctx, models.AuditEntry{Action: models.AuditPasswordReset, OperatorEmail: "command line",
			TargetType: "operator", TargetID: op.ID, Detail: op.Email + ": signed out everywhere (command line)"}); err != nil {
			return err
		}
		status := "They can sign in with it now"
		if op.DisabledAt != nil {
			status = "They stay disabled and cannot sign in until an admin enables them"
		}
		fmt.Fprintf(cli.Stdout, "Set a new password for %s and signed them out everywhere. %s.\n", op.Email, status)
		return nil
	}
	return nil
}

// printConsoleBanner tells how to sign in to the console, and on the first
// start prints the first admin's credentials, once.
func (a *App) printConsoleBanner(w io.Writer, addr string) {
	fmt.Fprintf(w, "  Console: %s://%s/login\n", a.scheme(), addr)
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
