package models

import (
	"context"
	"path/filepath"
	"testing"
	"time"
)

func TestSigningKeysRotatedByAnotherInstance(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	a, b := openSealTest(t, path, ""), openSealTest(t, path, "")
	issue := func(s *Store) *IssuedToken {
		t.Helper()
		u, err := s.CreateUser(ctx, Sandbox, nil, "test")
		if err != nil {
			t.Fatal(err)
		}
		return u.Token
	}

	t.Run("a new current key made elsewhere is signed with once the ring is old", func(t *testing.T) {
		b.keys.refreshEvery = time.Hour
		before := issue(b).Kid
		rotated, err := a.RotateSigningKey(ctx, Sandbox)
		if err != nil {
			t.Fatal(err)
		}
		if got := issue(b).Kid; got != before {
			t.Fatalf("signed with %s before the ring was due a reload, want the copy's %s", got, before)
		}
		b.keys.refreshEvery = time.Millisecond
		time.Sleep(5 * time.Millisecond)
		issue(b) // finds the ring old and reads it again beside the transaction
		for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			got, want := issue(b).Kid, rotated.Kid
			if got == want {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("signed with %s, want the key rotated elsewhere, %s", got, want)
			}
		}
	})
	t.Run("a token signed with a key made elsewhere is accepted", func(t *testing.T) {
		b.keys.refreshEvery = time.Hour
		if _, err := a.RotateSigningKey(ctx, Sandbox); err != nil {
			t.Fatal(err)
		}
		tok := issue(a)
		b.keys.loadedAt.Store(time.Now().Add(-2 * time.Second).UnixNano())
		if p := b.ParseToken(tok.AccessToken); !p.SignatureOK {
			t.Fatalf("refused: %s", p.Problem)
		}
		if _, err := b.ConsumeToken(ctx, tok.AccessToken); err != nil {
			t.Fatalf("consume on the other instance: %v", err)
		}
	})
	t.Run("unknown key ids read the keys again at most once a second", func(t *testing.T) {
		if _, err := a.RotateSigningKey(ctx, Sandbox); err != nil {
			t.Fatal(err)
		}
		tok := issue(a)
		b.keys.loadedAt.Store(time.Now().UnixNano()) // just read
		if p := b.ParseToken(tok.AccessToken); p.SignatureOK || p.KeyKnown {
			t.Fatal("the keys were read again within a second of the last read")
		}
		b.keys.loadedAt.Store(time.Now().Add(-time.Second).UnixNano())
		if p := b.ParseToken(tok.AccessToken); !p.SignatureOK {
			t.Fatalf("refused a second later: %s", p.Problem)
		}
	})
}
