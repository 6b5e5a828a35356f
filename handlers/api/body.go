package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"strings"

	"github.com/gofiber/fiber/v2"

	"tokendesk/models"
)

// decodeJSON reads a JSON object body into dst. An empty body leaves dst
// as it is. A body that declares another media type is refused with 415; a
// body that is not a JSON object with 400 naming what is wrong.
func decodeJSON(c *fiber.Ctx, dst any) error {
	return decodeJSONBody(c.Get(fiber.HeaderContentType), c.Body(), dst)
}

func decodeJSONBody(contentType string, body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || !(mt == "application/json" || strings.HasSuffix(mt, "+json")) {
			return models.Errorf(models.CodeUnsupportedType, "the body must be JSON sent as Content-Type: application/json, not %q", truncate(contentType, 60))
		}
	}
	trimmed := bytes.TrimSpace(body)
	if trimmed[0] != '{' {
		return models.FieldError("body", "the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return models.FieldError("body", "the request body has data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return models.FieldError("body", "the request body is not valid JSON (at byte %d: %s)", syn.Offset, syn.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return models.FieldError(field, "%s must be %s, not a JSON %s", field, describeType(typ.Type.Kind().String()), typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return models.FieldError("body", "the request body ends before the JSON object does")
	}
	return models.FieldError("body", "the request body is not valid JSON: %s", err.Error())
}

func describeType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "a number"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
