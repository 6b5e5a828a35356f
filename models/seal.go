package models

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"gorm.io/gorm/schema"
)

// Webhook secrets (every generation kept for rotation) and the signing
// keys' private halves are sealed with AES-256-GCM (the standard library's)
// under a master key kept in a file beside, never inside, the database: a
// copy of the database or of a backup signs nothing without it.
//
// A sealed value reads "sealed:v1:<key id>:<base64url(nonce ‖ ciphertext)>".
// The column name is the additional data, so a value moved to another
// column does not open. The key id (8 hex digits of a hash of the key) says
// which key sealed it, so a wrong key is named as such instead of looking
// like corrupt data.
const sealPrefix = "sealed:v1:"

// ErrWrongSecretKey means the master key given does not open the database's
// secrets.
var ErrWrongSecretKey = errors.New("the secret key does not open this database's secrets")

// sealer holds the master key. It re-reads the key file when it meets a
// value sealed by another key, so a rotation done by the command line while
// the server runs is picked up without a restart.
type sealer struct {
	path string
	mu   sync.RWMutex
	aead cipher.AEAD
	kid  string
	// lastReload limits re-reading the file to once a second when values of
	// an unknown key keep coming.
	lastReload time.Time
}

func keyID(key []byte) string {
	sum := sha256.Sum256(append([]byte("tokendesk secret key id\x00"), key...))
	return hex.EncodeToString(sum[:4])
}

func newSealer(path string, key []byte) (*sealer, error) {
	k := &sealer{path: path}
	return k, k.setKey(key)
}

func (k *sealer) setKey(key []byte) error {
	if len(key) != 32 {
		return fmt.Errorf("secret key: want 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.aead, k.kid = aead, keyID(key)
	k.mu.Unlock()
	return nil
}

func (k *sealer) current() (cipher.AEAD, string) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.aead, k.kid
}

// seal encrypts plain for the column named aad.
func (k *sealer) seal(plain []byte, aad string) string {
	aead, kid := k.current()
	return sealWith(aead, kid, plain, aad)
}

func sealWith(aead cipher.AEAD, kid string, plain []byte, aad string) string {
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := io.ReadFull(rand.Reader, nonce); err != nil {
		// crypto/rand does not fail on supported systems (Go 1.24+ crashes instead).
		panic(err)
	}
	return sealPrefix + kid + ":" + base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, []byte(aad)))
}

// open decrypts a sealed value of the column named aad.
func (k *sealer) open(sealed, aad string) ([]byte, error) {
	kid, body, ok := splitSealed(sealed)
	if !ok {
		return nil, fmt.Errorf("column %s holds a value that is not sealed", aad)
	}
	aead, cur := k.current()
	if kid != cur && !k.reload(kid) {
		return nil, fmt.Errorf("column %s: sealed with key %s, have key %s: %w", aad, kid, cur, ErrWrongSecretKey)
	}
	if kid != cur {
		aead, _ = k.current()
	}
	return openWith(aead, body, aad)
}

func splitSealed(s string) (kid, body string, ok bool) {
	rest, ok := strings.CutPrefix(s, sealPrefix)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, ":")
}

func openWith(aead cipher.AEAD, body, aad string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < aead.NonceSize() {
		return nil, fmt.Errorf("column %s: sealed value is damaged", aad)
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("column %s: sealed value does not open (damaged, or moved from another column)", aad)
	}
	return plain, nil
}

// reload re-reads the key file (or the new one a rotation left before
// renaming it) and takes the key if it is the one named kid.
func (k *sealer) reload(kid string) bool {
	k.mu.Lock()
	if time.Since(k.lastReload) < time.Second {
		k.mu.Unlock()
		return false
	}
	k.lastReload = time.Now()
	k.mu.Unlock()
	for _, p := range []string{k.path, k.path + ".new"} {
		if key, err := readKeyFile(p); err == nil && keyID(key) == kid {
			return k.setKey(key) == nil
		}
	}
	return false
}

// readKeyFile reads a master key: 64 hex digits and an optional newline.
func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("%s does not hold a tokendesk secret key (64 hex digits)", path)
	}
	return key, nil
}

// writeKeyFile writes a new random master key to path, mode 0600; it fails
// when the file exists unless replace is set.
func writeKeyFile(path string, replace bool) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := io.ReadFull(rand.Reader, key); err != nil {
		return nil, err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if replace {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, privateFileMode)
	if err != nil {
		return nil, fmt.Errorf("create secret key file: %w", err)
	}
	_, werr := f.WriteString(hex.EncodeToString(key) + "\n")
	cerr := f.Chmod(privateFileMode)
	serr := f.Sync()
	if err := errors.Join(werr, cerr, serr, f.Close()); err != nil {
		return nil, fmt.Errorf("write secret key file %s: %w", path, err)
	}
	return key, nil
}

func fileMissing(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// The serializer seals on the way in and opens on the way out for fields
// tagged `gorm:"serializer:sealed"`. The store puts its sealer in the
// statement's context (see Store.read and Store.write); without one,
// reading or writing a sealed field fails instead of touching clear text.
func init() { schema.RegisterSerializer("sealed", sealedSerializer{}) }

type sealerKey struct{}

func withSealer(ctx context.Context, k *sealer) context.Context {
	if k == nil {
		return ctx
	}
	return context.WithValue(ctx, sealerKey{}, k)
}

func sealerOf(ctx context.Context) (*sealer, error) {
	if k, ok := ctx.Value(sealerKey{}).(*sealer); ok {
		return k, nil
	}
	return nil, errors.New("sealed field used outside the store")
}

type sealedSerializer struct{}

func (sealedSerializer) Scan(ctx context.Context, field *schema.Field, dst reflect.Value, dbValue any) error {
	fv := field.ReflectValueOf(ctx, dst)
	var raw string
	switch v := dbValue.(type) {
	case nil:
	case string:
		raw = v
	case []byte:
		raw = string(v)
	default:
		return fmt.Errorf("column %s: cannot read %T as a sealed value", field.DBName, dbValue)
	}
	if raw == "" { // "no previous secret"
		fv.Set(reflect.Zero(fv.Type()))
		return nil
	}
	k, err := sealerOf(ctx)
	if err != nil {
		return err
	}
	plain, err := k.open(raw, field.DBName)
	if err != nil {
		return err
	}
	if fv.Kind() == reflect.String {
		fv.SetString(string(plain))
	} else {
		fv.SetBytes(plain)
	}
	return nil
}

func (sealedSerializer) Value(ctx context.Context, field *schema.Field, dst reflect.Value, fieldValue any) (any, error) {
	var plain []byte
	switch v := fieldValue.(type) {
	case string:
		plain = []byte(v)
	case []byte:
		plain = v
	default:
		return nil, fmt.Errorf("column %s: cannot seal a %T", field.DBName, fieldValue)
	}
	if len(plain) == 0 {
		return "", nil
	}
	k, err := sealerOf(ctx)
	if err != nil {
		return nil, err
	}
	return k.seal(plain, field.DBName), nil
}
