package apitest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestOpenAPIValid: the description is a valid OpenAPI 3 document, with
// every reference resolved and every example fitting its schema.
func TestOpenAPIValid(t *testing.T) {
	if _, _, err := Load(); err != nil {
		t.Fatal(err)
	}
}

// TestCheckCatchesDrift: the check must be able to fail, or the API tests
// that use it prove nothing. An unlisted status, a body that lacks a
// required field, and a non-JSON error each fail it.
func TestCheckCatchesDrift(t *testing.T) {
	answer := func(method, path string, status int, ctype, body string) error {
		req, _ := http.NewRequest(method, "http://kiln"+path, nil)
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ctype}},
			Body: io.NopCloser(strings.NewReader(body))}
		return Check(req, resp)
	}
	const errBody = `{"error": {"code": "x", "message": "y"}}`
	if err := answer("GET", "/v1/jobs/7", 404, "application/json", errBody); err != nil {
		t.Errorf("a listed answer fails the check: %v", err)
	}
	if err := answer("POST", "/v1/jobs", 403, "application/json", errBody); err != nil {
		t.Errorf("POST /v1/jobs 403 outside_roots fails the check: %v", err)
	}
	if err := answer("GET", "/v1/watches", 200, "application/json", `[]`); err != nil {
		t.Errorf("no watches: %v", err)
	}
	bad := []struct {
		name         string
		method, path string
		status       int
		ctype, body  string
	}{
		{"unlisted status", "GET", "/v1/jobs/7", 418, "application/json", errBody},
		{"created without id", "POST", "/v1/jobs", 201, "application/json", `{}`},
		{"error without code", "GET", "/v1/jobs/7", 404, "application/json", `{"error": {"message": "y"}}`},
		{"unknown route, text error", "GET", "/v2/nothing", 404, "text/plain", "404 page not found"},
		{"trailing slash, text error", "GET", "/v1/jobs/", 404, "text/plain", "404 page not found"},
		{"health as text", "GET", "/v1/health", 200, "text/plain", "ok"},
		{"watches as null", "GET", "/v1/watches", 200, "application/json", `null`},
	}
	for _, c := range bad {
		if err := answer(c.method, c.path, c.status, c.ctype, c.body); err == nil {
			t.Errorf("%s: %s %s %d %s passed the check", c.name, c.method, c.path, c.status, c.body)
		}
	}
}
