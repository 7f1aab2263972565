// Package apitest checks kilnd's API answers against api/openapi.json with
// getkin/kin-openapi, so that the description cannot drift from what the
// daemon sends: tests that talk to a daemon send their requests through
// Transport, and every answer they receive is validated.
//
// It is test support only: nothing outside _test.go files may import it. It
// reads api/openapi.json from the source tree, next to this package.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Path is api/openapi.json in the source tree.
var Path = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "openapi.json")
}()

// The description, loaded and validated once per test binary.
var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

// Load loads api/openapi.json and validates it as an OpenAPI 3 document:
// every reference resolved, every schema and example well formed.
func Load() (*openapi3.T, routers.Router, error) {
	s := &spec
	s.once.Do(func() {
		loader := openapi3.NewLoader()
		s.doc, s.err = loader.LoadFromFile(Path)
		if s.err != nil {
			s.err = fmt.Errorf("%s does not load: %w", Path, s.err)
			return
		}
		if s.err = s.doc.Validate(loader.Context); s.err != nil {
			s.err = fmt.Errorf("%s is not a valid OpenAPI document: %w", Path, s.err)
			return
		}
		s.router, s.err = legacy.NewRouter(s.doc)
	})
	return s.doc, s.router, s.err
}

// Check validates one answer of the daemon against the description: its
// status must be listed for the operation, and its body must fit the schema
// given for that status and content type. Answers to routes the description
// does not have (404 not_found, 405 method_not_allowed) must be the Error
// schema. A server-sent event stream is checked up to its headers, since
// its body never ends. Check reads resp.Body and puts back a copy.
func Check(req *http.Request, resp *http.Response) error {
	doc, router, err := Load()
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
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			return err
		}
		return doc.Components.Schemas["Error"].Value.VisitJSON(v)
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

// Transport wraps base (nil: http.DefaultTransport) so that every answer
// is checked (Check), and a mismatch fails t.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &validatingTransport{t: t, base: base}
}

type validatingTransport struct {
	t    testing.TB
	base http.RoundTripper
}

func (v *validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := v.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if err := Check(req, resp); err != nil {
		v.t.Errorf("%s %s answered %d, not as api/openapi.json describes: %v", req.Method, req.URL.RequestURI(),
			resp.StatusCode, strings.ReplaceAll(err.Error(), "\n", "\n\t"))
	}
	return resp, nil
}
