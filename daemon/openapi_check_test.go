package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// The API description, loaded and validated by kin-openapi once per test
// binary: every API test's responses are checked against it.
var openAPISpec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func kinOpenAPI() (*openapi3.T, routers.Router, error) {
	s := &openAPISpec
	s.once.Do(func() {
		loader := openapi3.NewLoader()
		s.doc, s.err = loader.LoadFromFile(openAPIPath)
		if s.err != nil {
			s.err = fmt.Errorf("%s does not load: %w", openAPIPath, s.err)
			return
		}
		if s.err = s.doc.Validate(loader.Context); s.err != nil {
			s.err = fmt.Errorf("%s is not a valid OpenAPI document: %w", openAPIPath, s.err)
			return
		}
		s.router, s.err = legacy.NewRouter(s.doc)
	})
	return s.doc, s.router, s.err
}

// TestOpenAPIValid: the description is a valid OpenAPI 3 document, with
// every reference resolved and every example fitting its schema.
func TestOpenAPIValid(t *testing.T) {
	if _, _, err := kinOpenAPI(); err != nil {
		t.Fatal(err)
	}
}

// checkResponse validates one answer of the daemon against the description:
// its status must be listed for the operation, and its body must fit the
// schema given for that status and content type. Answers to routes the
// description does not have (404 not_found, 405 method_not_allowed) must be
// the Error schema. A server-sent event stream is checked up to its headers;
// its body never ends. It reads resp.Body and puts back a copy.
func checkResponse(req *http.Request, resp *http.Response) error {
	doc, router, err := kinOpenAPI()
	if err != nil {
		return err
	}
	mediaType, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	stream := mediaType == "text/event-stream"
	var body []byte
	if !stream {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil {
			return err
		}
	}
	route, params, err := router.FindRoute(req)
	if err == nil && !routeIsPath(route.Path, params, req.URL.Path) {
		// The router forgives what the daemon does not ("/v1/jobs/" for
		// "/v1/jobs"): for the daemon that path has no route.
		err = fmt.Errorf("%s only resembles %s", req.URL.Path, route.Path)
	}
	if err != nil {
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			return fmt.Errorf("%s %s is not in the description, yet answered %d", req.Method, req.URL.Path, resp.StatusCode)
		}
		if mediaType != "application/json" {
			return fmt.Errorf("%d answered as %q, not the JSON Error", resp.StatusCode, mediaType)
		}
		schema := doc.Components.Schemas["Error"].Value
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		return schema.VisitJSON(v)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status: resp.StatusCode,
		Header: resp.Header,
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true, // an answer the description does not list is drift
			ExcludeResponseBody:   stream,
			MultiError:            true,
		},
	}
	in.SetBodyBytes(body)
	return openapi3filter.ValidateResponse(context.Background(), in)
}

// routeIsPath says whether the path template, with params filled in, is
// exactly path.
func routeIsPath(template string, params map[string]string, path string) bool {
	for name, v := range params {
		template = strings.ReplaceAll(template, "{"+name+"}", v)
	}
	return template == path
}

// validatingTransport checks every answer the tests receive against the
// API description (checkResponse) and fails the test on a mismatch.
type validatingTransport struct {
	t    testing.TB
	base http.RoundTripper
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if err := checkResponse(req, resp); err != nil {
		v.t.Errorf("%s %s answered %d, not as %s describes: %v", req.Method, req.URL.RequestURI(), resp.StatusCode,
			openAPIPath, strings.ReplaceAll(err.Error(), "\n", "\n\t"))
	}
	return resp, nil
}

// TestOpenAPIResponseCheckCatchesDrift: the check must be able to fail,
// or the API tests that use it prove nothing. An unlisted status, a body
// that lacks a required field, and a non-JSON error each fail it.
func TestOpenAPIResponseCheckCatchesDrift(t *testing.T) {
	answer := func(method, path string, status int, ctype, body string) error {
		req, _ := http.NewRequest(method, "http://kiln"+path, nil)
		resp := &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {ctype}},
			Body: io.NopCloser(strings.NewReader(body))}
		return checkResponse(req, resp)
	}
	const errBody = `{"error": {"code": "x", "message": "y"}}`
	if err := answer("GET", "/v1/jobs/7", 404, "application/json", errBody); err != nil {
		t.Errorf("a listed answer fails the check: %v", err)
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
		{"health as text", "GET", "/v1/health", 200, "text/plain", "ok"},
	}
	for _, c := range bad {
		if err := answer(c.method, c.path, c.status, c.ctype, c.body); err == nil {
			t.Errorf("%s: %s %s %d %s passed the check", c.name, c.method, c.path, c.status, c.body)
		}
	}
}
