// Package api serves the Smile-compatible JSON API under /v1.
package api

import (
	"log/slog"

	"tokendesk/models"
)

// Handler holds what the API handlers need. Its methods are the routes'
// handlers; web/routes.go maps URLs to them.
type Handler struct {
	Store *models.Store
	Log   *slog.Logger
}

// Locals keys set by the middleware and read by handlers.
const (
	LocalRequestID = "requestId"
	localKey       = "apiKey"
)

// KeyOf names the API key that authenticated a request (its public part,
// never the secret), for the request log; "" before authentication.
func KeyOf(c interface{ Locals(any, ...any) any }) string {
	if k := requestKey(c); k != nil {
		return k.Key
	}
	return ""
}

// requestKey is the API key that authenticated the request.
func requestKey(c interface{ Locals(any, ...any) any }) *models.APIKey {
	k, _ := c.Locals(localKey).(*models.APIKey)
	return k
}
