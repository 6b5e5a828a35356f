package api

import (
	"errors"
	"log/slog"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

// Envelope is the shape of every API response, as the contract gives it.
type Envelope struct {
	Code      models.Code `json:"code"`
	Message   string      `json:"message"`
	RequestID string      `json:"requestId"`
	Data      any         `json:"data"`
}

// errorData tells a client which input an error is about.
type errorData struct {
	Field string `json:"field,omitempty"`
}

func requestID(c *fiber.Ctx) string {
	id, _ := c.Locals(LocalRequestID).(string)
	return id
}

// ok writes a success envelope.
func ok(c *fiber.Ctx, code models.Code, data any) error {
	msg := "Success"
	if code == models.CodeCreated {
		msg = "Created"
	}
	return c.Status(code.Status()).JSON(Envelope{Code: code, Message: msg, RequestID: requestID(c), Data: data})
}

// WriteError writes err as an error envelope. Domain errors keep their code
// and message; anything else is logged and becomes SERVER_ERROR, so no
// internal detail reaches the client.
func WriteError(c *fiber.Ctx, log *slog.Logger, err error) error {
	e, isDomain := models.AsError(err)
	var fe *fiber.Error
	status := 0
	switch {
	case isDomain:
	case errors.As(err, &fe):
		if fe.Code == fiber.StatusBadRequest && strings.Contains(fe.Message, "body size exceeds") {
			// fasthttp reports an oversized body as a plain error.
			fe = fiber.ErrRequestEntityTooLarge
		}
		e = fromFiberError(fe)
		if fe.Code == fiber.StatusRequestEntityTooLarge {
			status = fe.Code // the contract has no code of its own for it
		}
	default:
		log.Error("request failed", "request_id", requestID(c), "method", c.Method(), "path", c.Path(), "error", err)
		e = &models.Error{Code: models.CodeServerError, Message: "the server failed to handle the request; quote request id " + requestID(c) + " to support"}
	}
	if e.Code == models.CodeInvalidCredentials {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="tokendesk API", charset="UTF-8"`)
	}
	if status == 0 {
		status = e.Code.Status()
	}
	c.Locals(localError, e)
	return c.Status(status).JSON(Envelope{Code: e.Code, Message: e.Message, RequestID: requestID(c), Data: errorData{Field: e.Field}})
}

// fromFiberError translates the framework's own errors (no route, body too
// large, wrong method) into the contract's vocabulary.
func fromFiberError(fe *fiber.Error) *models.Error {
	switch fe.Code {
	case fiber.StatusNotFound:
		return &models.Error{Code: models.CodeMissingResource, Message: "no such API path; see /v1/openapi.yaml for the paths this server serves"}
	case fiber.StatusMethodNotAllowed, fiber.StatusNotImplemented:
		return &models.Error{Code: models.CodeUnsupportedMethod, Message: "this path does not support that method"}
	case fiber.StatusRequestEntityTooLarge:
		return &models.Error{Code: models.CodeInvalidParameters, Field: "body", Message: "the request body is larger than the limit of " + strconv.Itoa(MaxBodyBytes>>20) + " MiB"}
	case fiber.StatusTooManyRequests:
		return &models.Error{Code: models.CodeRequestLimitExceeded, Message: "too many requests"}
	case fiber.StatusRequestTimeout:
		return &models.Error{Code: models.CodeTimeLimitExceeded, Message: "the request took too long"}
	}
	if fe.Code >= 400 && fe.Code < 500 {
		return &models.Error{Code: models.CodeInvalidParameters, Message: fe.Message}
	}
	return &models.Error{Code: models.CodeServerError, Message: "the server failed to handle the request"}
}

// MaxBodyBytes is the largest request body the server reads.
const MaxBodyBytes = 1 << 20

// UnsupportedMethod answers methods a known path does not serve.
func (h *Handler) UnsupportedMethod(c *fiber.Ctx) error {
	return models.Errorf(models.CodeUnsupportedMethod, "%s is not supported on %s", c.Method(), c.Route().Path)
}

// NotFound answers API paths that do not exist.
func (h *Handler) NotFound(c *fiber.Ctx) error {
	return models.Errorf(models.CodeMissingResource, "no API path %s; see /v1/openapi.yaml for the paths this server serves", c.Path())
}
