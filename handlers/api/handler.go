// Package api serves the Smile-compatible JSON API under /v1.
package api

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"

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
	localError     = "apiError"  // the error an envelope answered with
	localUser      = "apiUserId" // the user a request was about
)

// concerns records which user a request is about, for the request log.
func concerns(c *fiber.Ctx, userID string) {
	if userID != "" && len(userID) <= 200 {
		c.Locals(localUser, userID)
	}
}

// Facts are what the request log keeps of a request that the API's
// handlers learned: the key (public part), its mode, the user it concerned
// and the error it was answered with. Mode is "" before authentication.
type Facts struct {
	Mode                    models.Mode
	KeyID, Key              string
	UserID                  string
	ErrorCode, ErrorMessage string
}

// FactsOf reads the Facts of a request once it has been answered.
func FactsOf(c *fiber.Ctx) Facts {
	var f Facts
	if k := requestKey(c); k != nil {
		f.Mode, f.KeyID, f.Key = k.Mode, k.ID, k.Key
	}
	f.UserID, _ = c.Locals(localUser).(string)
	if e, ok := c.Locals(localError).(*models.Error); ok {
		f.ErrorCode, f.ErrorMessage = string(e.Code), e.Message
	}
	return f
}

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
