// Package apitest checks API responses in tests against our OpenAPI
// document with a real validator, so the document and the server cannot
// drift apart unnoticed.
package apitest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"tokendesk/handlers/api"
)

var (
	once   sync.Once
	router routers.Router
	docErr error
)

// Response is an answer of the API as a test received it.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// CheckResponse fails tb when the answer to method target does not match the
// document: every documented path and status is validated; an undocumented
// /v1 path may only answer an error.
func CheckResponse(tb testing.TB, method, target string, reqHeader http.Header, res Response) {
	tb.Helper()
	if !strings.HasPrefix(target, "/v1/") || strings.HasPrefix(target, "/v1/openapi.yaml") {
		return
	}
	once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPIDocument)
		if err != nil {
			docErr = err
			return
		}
		if docErr = doc.Validate(loader.Context); docErr != nil {
			return
		}
		doc.Servers = openapi3.Servers{{URL: "http://example.test/v1"}}
		router, docErr = gorillamux.NewRouter(doc)
	})
	if docErr != nil {
		tb.Fatalf("openapi document: %v", docErr)
	}
	req, _ := http.NewRequest(method, "http://example.test"+target, nil)
	req.Header = reqHeader.Clone()
	route, params, err := router.FindRoute(req)
	if err != nil {
		if res.Status < 400 {
			tb.Errorf("%s %s answered %d but is not in the OpenAPI document: %v", method, target, res.Status, err)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: true}}
	rv := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.Status, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(res.Body)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), rv); err != nil {
		tb.Errorf("%s %s: response %d does not match the OpenAPI document: %v\n%s", method, target, res.Status, err, res.Body)
	}
}
