package api_test

import (
	"os"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"tokendesk/handlers/api"
	"tokendesk/models"
)

// contractCodes are the response codes the Smile API document lists.
var contractCodes = []string{
	"OK", "CREATED", "INVALID_CREDENTIALS", "INVALID_PARAMETERS", "INVALID_TOKEN", "UNAUTHORIZED_ACCESS",
	"MISSING_RESOURCE", "REQUEST_LIMIT_EXCEEDED", "SERVER_ERROR", "UNSUPPORTED_METHOD", "SERVER_UNAVAILABLE",
	"TIME_LIMIT_EXCEEDED",
}

func stringsOf(vs []any) []string {
	var out []string
	for _, v := range vs {
		if s, ok := v.(string); ok {
			out = append(out, s)
		}
	}
	slices.Sort(out)
	return out
}

func TestEveryCodeIsTheContractsOrADocumentedAddition(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	schema := doc.Components.Schemas["Code"].Value
	documented := stringsOf(schema.Enum)
	additions, _ := schema.Extensions["x-tokendesk-additions"].([]any)

	var ours []string
	for _, c := range models.Codes {
		ours = append(ours, string(c))
	}
	slices.Sort(ours)
	if !slices.Equal(ours, documented) {
		t.Fatalf("models.Codes %v, documented %v: every code the server can answer must be in the document", ours, documented)
	}
	want := append(slices.Clone(contractCodes), stringsOf(additions)...)
	slices.Sort(want)
	if !slices.Equal(documented, want) {
		t.Fatalf("documented codes %v, want the contract's plus the listed additions %v", documented, want)
	}

	// Where the contract's own document is at hand (the project's shared
	// folder beside the checkout), hold the list above to it.
	raw, err := os.ReadFile("../../../shared/reference/smile-openapi-subset.yaml")
	if err != nil {
		t.Logf("the contract's document is not beside the checkout (%v); checked against the list in this test", err)
		return
	}
	ref, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	refCodes := stringsOf(ref.Components.Schemas["ObjectMetadataRefCode"].Value.Enum)
	listed := slices.Clone(contractCodes)
	slices.Sort(listed)
	if !slices.Equal(refCodes, listed) {
		t.Fatalf("the contract lists %v, this test %v", refCodes, listed)
	}
}
