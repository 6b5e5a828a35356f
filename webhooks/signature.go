// Package webhooks sends signed deliveries: it claims due deliveries from the
// store, posts them through an SSRF guard, records every attempt and
// schedules retries.
package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"net/http"
	"strconv"
	"time"
)

// Header names. HTTP names are case-insensitive; Go sends them in canonical
// form (Webhook-Id), which every Standard Webhooks verifier accepts.
const (
	HeaderSmileSignature   = "Smile-Signature"
	HeaderWebhookID        = "webhook-id"
	HeaderWebhookTimestamp = "webhook-timestamp"
	HeaderWebhookSignature = "webhook-signature"
)

// SmileSignature is the contract's signature: hex HMAC-SHA512 of the raw
// body keyed by the endpoint's secret.
func SmileSignature(secret string, body []byte) string {
	return smileSignature(hmac.New(sha512.New, []byte(secret)), body)
}

// StandardSignature is one Standard Webhooks signature, "v1," + base64
// HMAC-SHA256 of "id.timestamp.body" keyed by the secret's bytes, so a
// receiver verifies it with "whsec_" + base64(secret).
func StandardSignature(secret, id string, ts time.Time, body []byte) string {
	return standardSignature(hmac.New(sha256.New, []byte(secret)), id, ts, body)
}

func smileSignature(m hash.Hash, body []byte) string {
	m.Reset()
	m.Write(body)
	var sum [sha512.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))
}

func standardSignature(m hash.Hash, id string, ts time.Time, body []byte) string {
	m.Reset()
	var buf [24]byte
	m.Write([]byte(id))
	m.Write(append(strconv.AppendInt(append(buf[:0], '.'), ts.Unix(), 10), '.'))
	m.Write(body)
	var sum [sha256.Size]byte
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(sum[:0]))
}

// Sign sets the signature headers of one request. secrets[0] is the current
// secret; any others (a rotated-out secret in its grace period) add more
// space-separated v1 signatures, which Standard Webhooks receivers accept.
// Smile-Signature carries one value, so it always uses the current secret.
func Sign(h http.Header, secrets []string, eventID string, ts time.Time, body []byte) {
	var s signer
	s.sign(h, secrets, eventID, ts, body)
}

// signer signs for one worker. It keeps each secret's keyed HMAC states:
// setting up the key costs as much as hashing a small event, and a worker
// signs for the same few endpoints over and over.
type signer struct {
	keyed map[string]*keyedMACs
}

type keyedMACs struct{ sha512, sha256 hash.Hash }

// maxKeyed bounds the cache; past it, it starts over.
const maxKeyed = 256

func (s *signer) macs(secret string) *keyedMACs {
	if k, ok := s.keyed[secret]; ok {
		return k
	}
	if s.keyed == nil || len(s.keyed) >= maxKeyed {
		s.keyed = make(map[string]*keyedMACs)
	}
	k := &keyedMACs{sha512: hmac.New(sha512.New, []byte(secret)), sha256: hmac.New(sha256.New, []byte(secret))}
	s.keyed[secret] = k
	return k
}

func (s *signer) sign(h http.Header, secrets []string, eventID string, ts time.Time, body []byte) {
	sig := standardSignature(s.macs(secrets[0]).sha256, eventID, ts, body)
	for _, old := range secrets[1:] {
		sig += " " + standardSignature(s.macs(old).sha256, eventID, ts, body)
	}
	// Canonical keys assigned directly: Header.Set would canonicalize the
	// lower-case names again on every request.
	h["Smile-Signature"] = []string{smileSignature(s.macs(secrets[0]).sha512, body)}
	h["Webhook-Id"] = []string{eventID}
	h["Webhook-Timestamp"] = []string{strconv.FormatInt(ts.Unix(), 10)}
	h["Webhook-Signature"] = []string{sig}
}
