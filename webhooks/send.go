package webhooks

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"tokendesk/models"
)

// How much of a receiver's answer the attempt log keeps.
const (
	MaxResponseBody    = 16 << 10
	maxDrain           = 64 << 10 // read past the kept part so the connection can be reused
	maxResponseHeaders = 64
	maxHeaderValue     = 1024
)

// attempt sends one claimed delivery and says what should follow. It never
// returns an error: every failure is part of the attempt's record.
func (d *Dispatcher) attempt(c *models.Claim, sg *signer) result {
	start := d.store.Now()
	ep := &c.Endpoint
	h := make(http.Header, 8)
	h["Content-Type"] = []string{"application/json"}
	h["User-Agent"] = []string{d.cfg.UserAgent}
	sg.sign(h, ep.SigningSecrets(start), c.Delivery.EventID, start, c.Payload)

	ctx, span := d.startSpan(c, h)
	a := models.Attempt{
		DeliveryID: c.Delivery.ID, Mode: c.Delivery.Mode, Number: c.Number,
		Trigger: c.Trigger, TriggeredBy: c.TriggeredBy, URL: ep.URL,
		RequestHeaders: flatten(h, len(h)), RequestBody: string(c.Payload), StartedAt: start,
	}
	began := time.Now()
	resp, body, err := d.post(ctx, c.Delivery.Mode, ep.URL, h, c.Payload)
	took := time.Since(began)
	a.DurationMS = took.Milliseconds()
	if d.sendCtx.Err() != nil {
		// Cut off by shutdown: not the receiver's fault, so not an attempt
		// against the schedule; the lease goes back instead.
		endSpan(span, nil, errors.New("cut off by shutdown"))
		return result{claim: c, release: true}
	}
	endSpan(span, resp, err)
	d.observeAttempt(c.Delivery.Mode, resp, err, took)

	out := models.AttemptResult{Claim: c, DisableAfter: d.cfg.DisableAfter}
	if resp != nil {
		a.ResponseStatus = resp.StatusCode
		a.ResponseHeaders = flatten(resp.Header, maxResponseHeaders)
		a.ResponseBody = strings.ToValidUTF8(string(body), "\uFFFD")
		out.Succeeded = resp.StatusCode >= 200 && resp.StatusCode < 300
		out.Gone = resp.StatusCode == http.StatusGone
	}
	if err != nil {
		a.Error = describe(err, d.cfg.Timeout)
	}
	if !out.Succeeded {
		end := d.store.Now()
		done := c.Delivery.AutoAttempts
		if c.Trigger == models.TriggerAutomatic {
			done++
		}
		var retryAfter time.Duration
		if resp != nil {
			retryAfter, _ = RetryAfter(resp.StatusCode, resp.Header, end)
		}
		if wait, ok := d.backoff.Next(done); ok {
			if retryAfter > 0 {
				wait = retryAfter
			}
			at := end.Add(wait)
			out.RetryAt = &at
		}
		if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
			out.Attempt = a
			return result{claim: c, res: out, throttled: true, wait: retryAfter}
		}
	}
	out.Attempt = a
	return result{claim: c, res: out}
}

// post sends body to rawURL. A response is returned whenever the receiver
// answered, even if reading the rest of its body then failed.
func (d *Dispatcher) post(ctx context.Context, mode models.Mode, rawURL string, h http.Header, body []byte) (*http.Response, []byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("endpoint url: %w", err)
	}
	if err := checkHost(u.Hostname()); err != nil {
		return nil, nil, err
	}
	cl := d.clients[mode]
	if cl == nil {
		return nil, nil, fmt.Errorf("no client for mode %q", mode)
	}
	return cl.post(ctx, u, h, body, time.Now().Add(d.cfg.Timeout))
}

// flatten turns headers into the one-value-per-name map the attempt log
// keeps, bounded so a hostile receiver cannot bloat the database.
func flatten(h http.Header, limit int) map[string]string {
	out := make(map[string]string, min(len(h), limit))
	for k, vs := range h {
		if len(out) == limit {
			break
		}
		v := strings.Join(vs, ", ")
		if len(v) > maxHeaderValue {
			v = v[:maxHeaderValue]
		}
		out[k] = strings.ToValidUTF8(v, "\uFFFD")
	}
	return out
}

// describe turns a send error into the line support reads, starting with
// the kind of failure: blocked, DNS, timeout, TLS, connect or request.
func describe(err error, timeout time.Duration) string {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err // its message repeats the URL, which may hold credentials
	}
	var blocked *BlockedError
	var refused *ProxyError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case errors.As(err, &blocked):
		return "blocked: " + blocked.Error()
	case errors.As(err, &refused):
		return "proxy: " + refused.Error()
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fmt.Sprintf("DNS: no such host %q", dnsErr.Name)
		}
		return "DNS: " + dnsErr.Error()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Sprintf("timeout: no complete answer within %s", timeout)
	case isTLSError(err):
		return "TLS: " + err.Error()
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return "connect: " + opErr.Error()
	}
	return "request: " + err.Error()
}

func isTLSError(err error) bool {
	var verify *tls.CertificateVerificationError
	var header tls.RecordHeaderError
	var alert tls.AlertError
	var hostname x509.HostnameError
	var authority x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &alert) ||
		errors.As(err, &hostname) || errors.As(err, &authority) || errors.As(err, &invalid) ||
		strings.Contains(err.Error(), "tls: ")
}
