package models

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRequestBatchJSONIsWhatEncodingJSONReads(t *testing.T) {
	rs := []APIRequest{
		{ID: "a", Mode: Sandbox, Method: "POST", Path: "/v1/x\"y\\z", Query: "q=\x01\n", Status: 404,
			ErrorCode: "MISSING_RESOURCE", ErrorMessage: "no user \"acme-1\"", DurationUS: 12, RequestBody: `{"k":"Zürich"}`,
			IP: "::1", CreatedAt: time.UnixMilli(1700000000123)},
		{ID: "b", Mode: Production, Path: "/v1/\xff", Status: 201, CreatedAt: time.UnixMilli(1)},
	}
	var got [][]any
	if err := json.Unmarshal(appendRequestsJSON(nil, rs), &got); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if len(got) != 2 || got[0][5] != "/v1/x\"y\\z" || got[0][6] != "q=\x01\n" || got[0][12] != `{"k":"Zürich"}` ||
		got[0][8] != float64(404) || got[0][14] != float64(1700000000123) || got[1][5] != "/v1/\ufffd" {
		t.Fatalf("got %#v", got)
	}
}
