package api

import (
	"testing"

	"tokendesk/models"
)

func TestDecodeJSONBody(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
		code        models.Code
	}{
		{"accepts JSON with a charset", "application/json; charset=utf-8", `{}`, ""},
		{"accepts a vendor JSON type", "application/vnd.api+json", `{}`, ""},
		{"accepts JSON without a content type", "", `{}`, ""},
		{"accepts an empty body", "text/plain", ``, ""},
		{"refuses form data with 415", "application/x-www-form-urlencoded", `a=b`, models.CodeUnsupportedType},
		{"refuses a broken content type with 415", "application/", `{}`, models.CodeUnsupportedType},
		{"refuses trailing data", "application/json", `{}{}`, models.CodeInvalidParameters},
		{"refuses a cut-off object", "application/json", `{"externalMetadata":{`, models.CodeInvalidParameters},
		{"refuses a wrong type naming the field", "application/json", `{"externalMetadata":"x"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dst struct{ ExternalMetadata any }
			err := decodeJSONBody(tt.contentType, []byte(tt.body), &dst)
			if got, want := codeOf(err), tt.code; got != want {
				t.Errorf("got %q (%v), want %q", got, err, want)
			}
		})
	}
}

func codeOf(err error) models.Code {
	if err == nil {
		return ""
	}
	return models.ErrorCode(err)
}
