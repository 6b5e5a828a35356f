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
	"net/http"
	"strconv"
	"strings"
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
	m := hmac.New(sha512.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// StandardSignature is one Standard Webhooks signature, "v1," + base64
// HMAC-SHA256 of "id.timestamp.body" keyed by the secret's bytes, so a
// receiver verifies it with "whsec_" + base64(secret).
func StandardSignature(secret, id string, ts time.Time, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Sign sets the signature headers of one request. secrets[0] is the current
// secret; any others (a rotated-out secret in its grace period) add more
// space-separated v1 signatures, which Standard Webhooks receivers accept.
// Smile-Signature carries one value, so it always uses the current secret.
func Sign(h http.Header, secrets []string, eventID string, ts time.Time, body []byte) {
	sigs := make([]string, len(secrets))
	for i, s := range secrets {
		sigs[i] = StandardSignature(s, eventID, ts, body)
	}
	h.Set(HeaderSmileSignature, SmileSignature(secrets[0], body))
	h.Set(HeaderWebhookID, eventID)
	h.Set(HeaderWebhookTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderWebhookSignature, strings.Join(sigs, " "))
}
