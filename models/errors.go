package models

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/mattn/go-sqlite3"
)

// Code is one of the Smile API's response codes. The same vocabulary is used
// by the JSON API and the console, so one failure reads the same everywhere.
type Code string

const (
	CodeOK                   Code = "OK"
	CodeCreated              Code = "CREATED"
	CodeInvalidParameters    Code = "INVALID_PARAMETERS"
	CodeInvalidCredentials   Code = "INVALID_CREDENTIALS"
	CodeInvalidToken         Code = "INVALID_TOKEN"
	CodeUnauthorizedAccess   Code = "UNAUTHORIZED_ACCESS"
	CodeMissingResource      Code = "MISSING_RESOURCE"
	CodeUnsupportedType      Code = "UNSUPPORTED_TYPE"
	CodeRequestLimitExceeded Code = "REQUEST_LIMIT_EXCEEDED"
	CodeServerError          Code = "SERVER_ERROR"
	CodeUnsupportedMethod    Code = "UNSUPPORTED_METHOD"
	CodeServerUnavailable    Code = "SERVER_UNAVAILABLE"
	CodeTimeLimitExceeded    Code = "TIME_LIMIT_EXCEEDED"
	CodeConflict             Code = "CONFLICT"
)

// Codes is every code above, for the test that holds our OpenAPI document
// to this vocabulary.
var Codes = []Code{
	CodeOK, CodeCreated, CodeInvalidParameters, CodeInvalidCredentials, CodeInvalidToken,
	CodeUnauthorizedAccess, CodeMissingResource, CodeUnsupportedType, CodeRequestLimitExceeded,
	CodeServerError, CodeUnsupportedMethod, CodeServerUnavailable, CodeTimeLimitExceeded, CodeConflict,
}

// Status is the HTTP status the contract's error table pairs with the code.
// It lives here, with the codes, so the API and the console answer a
// failure with the same status.
func (c Code) Status() int {
	switch c {
	case CodeOK:
		return 200
	case CodeCreated:
		return 201
	case CodeInvalidParameters, CodeInvalidCredentials:
		return 400
	case CodeInvalidToken:
		return 401
	case CodeUnauthorizedAccess:
		return 403
	case CodeMissingResource:
		return 404
	case CodeConflict:
		return 409
	case CodeUnsupportedType:
		return 415
	case CodeRequestLimitExceeded:
		return 429
	case CodeUnsupportedMethod:
		return 501
	case CodeServerUnavailable:
		return 503
	case CodeTimeLimitExceeded:
		return 504
	}
	return 500
}

// Error is a domain error: a code from the contract, a message for people and,
// when the error is about one input, the name of that field.
type Error struct {
	Code    Code
	Message string
	Field   string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError builds an INVALID_PARAMETERS error about one field.
func FieldError(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidParameters, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFound builds a MISSING_RESOURCE error for a kind of thing and its id.
func NotFound(kind, id string) *Error {
	return &Error{Code: CodeMissingResource, Message: fmt.Sprintf("no %s with id %q", kind, id)}
}

// ErrorCode returns the code of err, or SERVER_ERROR when err is not a domain error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeServerError
}

// AsError returns the domain error inside err, if there is one.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	if IsUnreachable(err) {
		return ErrUnreachable, true
	}
	return nil, false
}

// FieldErrors collects several field errors, for forms that report all at once.
type FieldErrors map[string]string

func (fe FieldErrors) Add(field, msg string) {
	if _, ok := fe[field]; !ok {
		fe[field] = msg
	}
}

// Err returns the first error as an *Error (or nil), so callers that only
// need one message can use the same path as single-field validation.
func (fe FieldErrors) Err() error {
	for f, m := range fe {
		return &Error{Code: CodeInvalidParameters, Field: f, Message: m}
	}
	return nil
}

// isUniqueViolation reports whether err is a unique constraint refusing a
// write, from either database: a concurrent duplicate that a read before
// the write could not see. Callers turn it into their CONFLICT error.
func isUniqueViolation(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique {
		return true
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
