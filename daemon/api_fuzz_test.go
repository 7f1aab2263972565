package daemon

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"kiln/api/apitest"
)

// FuzzAPIBodies sends arbitrary bodies to every route that reads one. Each
// answer must be JSON, never a 500 (a malformed request is the client's
// error, and the daemon stays up), and one that api/openapi.json describes.
func FuzzAPIBodies(f *testing.F) {
	for _, seed := range []string{
		`{"source":"/abs/clip.mxf","profile":"p1","priority":"high"}`,
		`{"source":"relative.mxf","profile":"p1"}`,
		`{"priority":"low"}`,
		`{"priority":"urgent"}`,
		`{"source":1}`,
		`{"source":"/x","profile":"p1","bogus":true}`,
		`[]`, `null`, `{`, ``, `{"source":"/dev/zero","profile":"p1"}`,
	} {
		f.Add([]byte(seed))
	}
	td := initDaemon(f, baseConfig)
	h := td.d.api.handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, r := range []struct{ method, path string }{
			{"POST", "/v1/jobs"},
			{"PATCH", "/v1/jobs/1"},
			{"POST", "/v1/jobs/1/cancel"},
		} {
			req := httptest.NewRequest(r.method, "http://kiln"+r.path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code >= http.StatusInternalServerError {
				t.Fatalf("%s %s with %q: %d %s", r.method, r.path, body, rec.Code, rec.Body)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %s with %q: answer is not JSON: %q", r.method, r.path, body, rec.Body)
			}
			if err := apitest.Check(req, rec.Result()); err != nil {
				t.Fatalf("%s %s with %q: %d %s is not as api/openapi.json describes: %v", r.method, r.path, body, rec.Code, rec.Body, err)
			}
		}
	})
}
