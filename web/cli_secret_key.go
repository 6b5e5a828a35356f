package web

import (
	"context"
	"errors"
	"fmt"
)

// secretKey rotates the master key that seals secrets at rest. It may run
// while the server runs: the server reads the new key from the file when it
// meets a value sealed with it.
func (cli *CLI) secretKey(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "rotate" {
		return errors.New("say rotate: tokendesk secret-key rotate")
	}
	store, rest, err := cli.openStore("tokendesk secret-key rotate", args[1:], nil)
	if err != nil {
		return err
	}
	defer store.Close()
	if len(rest) > 0 {
		return fmt.Errorf("unexpected arguments: %v", rest)
	}
	oldKid, newKid, err := store.RotateSecretKey(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(cli.Stdout, "Resealed the secrets with a new master key (key %s replaces %s) in %s.\n"+
		"Copies of the old key file no longer open this database; backups made before still need the old key.\n",
		newKid, oldKid, store.SecretKeyFile)
	return nil
}
