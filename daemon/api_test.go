package daemon

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kiln/api"
)

// TestAPIRoutesAnswer calls every route the way a client does and checks the
// shape of each answer.
func TestAPIRoutesAnswer(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, baseConfig)

	var h api.Health
	td.getJSON("/v1/health", &h)
	if h.Status != "ok" || h.Version != "test" || h.Uptime <= 0 || h.QueueDepth != 0 {
		t.Errorf("health = %+v", h)
	}

	var hw api.Hardware
	td.getJSON("/v1/hardware", &hw)
	if hw.Backend != "cpu" || hw.CUDA.Available || hw.CUDA.Reason == "" || hw.GPUs == nil || hw.ProbedAt.IsZero() {
		t.Errorf("hardware = %+v; want the CPU backend, CUDA unavailable with a reason", hw)
	}

	// Profiles and watches use the config's own key names.
	_, body := td.call("GET", "/v1/profiles", "")
	var profiles map[string]map[string]any
	if err := json.Unmarshal(body, &profiles); err != nil {
		t.Fatal(err)
	}
	if p := profiles["p-low"]; p["priority"] != "low" || p["kind"] != "file" || p["video_bitrate"] != "8M" || p["name"] != "p-low" {
		t.Errorf("profile p-low as JSON = %v", p)
	}
	var watches []map[string]any
	td.getJSON("/v1/watches", &watches)
	if len(watches) != 0 {
		t.Errorf("watches = %v; the config has none", watches)
	}

	src := td.source("clip.mkv")
	id := td.submit(src, "p1", "")
	done := td.waitState(id, "done", 20*time.Second)
	if done.Source != src || done.Profile != "p1" || done.Priority != "normal" || done.Progress.Fraction != 1 ||
		done.StartedAt == nil || done.FinishedAt == nil || len(done.Report) == 0 {
		t.Errorf("finished job = %+v", done)
	}
	if done.Output != filepath.Join(td.root, "state", "out", "clip", "p1") {
		t.Errorf("output = %s", done.Output)
	}
	if _, err := os.Stat(filepath.Join(done.Output, "clip.out")); err != nil {
		t.Errorf("the fake worker's output is not in place: %v", err)
	}

	var list []api.Job
	td.getJSON("/v1/jobs?state=done", &list)
	if len(list) != 1 || list[0].ID != id || len(list[0].Report) != 0 {
		t.Errorf("done jobs = %+v; want job %d without its report", list, id)
	}
	td.getJSON("/v1/jobs?state=queued", &list)
	if len(list) != 0 {
		t.Errorf("queued jobs = %+v", list)
	}

	status, body := td.call("POST", "/v1/reload", "")
	var rl api.Reloaded
	if status != http.StatusOK || json.Unmarshal(body, &rl) != nil || rl.Profiles != 2 || rl.Config != td.cfgPath {
		t.Errorf("reload: %d %s", status, body)
	}

	resp, err := td.http.Get("http://kiln/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("metrics: %d %s", resp.StatusCode, ct)
	}
}

// TestAPIRejectsBadRequests: every mistake a client can make gets a JSON
// error with a fitting status and a stable code.
func TestAPIRejectsBadRequests(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, baseConfig)
	src := td.source("a.mkv")
	doneID := td.submit(td.source("b.mkv"), "p1", "")
	td.waitState(doneID, "done", 20*time.Second)
	missing := filepath.Join(td.root, "sources", "nope.mkv")
	folder := filepath.Join(td.root, "sources", "a-folder")
	os.MkdirAll(folder, 0o755)
	fifo := filepath.Join(td.root, "sources", "pipe.ts")
	syscall.Mkfifo(fifo, 0o644)
	escape := filepath.Join(td.root, "sources", "escape.mxf")
	os.Symlink(filepath.Join(td.root, "kiln.toml"), escape)
	device := filepath.Join(td.root, "sources", "zero.mxf")
	os.Symlink("/dev/zero", device)
	big := `{"source": "` + strings.Repeat("x", maxBody) + `"}`

	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"malformed JSON", "POST", "/v1/jobs", `{"source": `, 400, "bad_json"},
		{"not an object", "POST", "/v1/jobs", `["a"]`, 400, "bad_json"},
		{"unknown field", "POST", "/v1/jobs", `{"source":"` + src + `","profile":"p1","colour":"red"}`, 400, "bad_json"},
		{"two objects", "POST", "/v1/jobs", `{"source":"` + src + `","profile":"p1"}{}`, 400, "bad_json"},
		{"empty body", "POST", "/v1/jobs", ``, 400, "bad_json"},
		{"oversized body", "POST", "/v1/jobs", big, 413, "too_large"},
		{"relative source", "POST", "/v1/jobs", `{"source":"a.mkv","profile":"p1"}`, 400, "bad_source"},
		{"missing source", "POST", "/v1/jobs", `{"source":"` + missing + `","profile":"p1"}`, 400, "bad_source"},
		{"folder as source", "POST", "/v1/jobs", `{"source":"` + folder + `","profile":"p1"}`, 400, "bad_source"},
		{"fifo as source", "POST", "/v1/jobs", `{"source":"` + fifo + `","profile":"p1"}`, 400, "bad_source"},
		{"source outside the roots", "POST", "/v1/jobs", `{"source":"/etc/passwd","profile":"p1"}`, 403, "outside_roots"},
		{"source with ..", "POST", "/v1/jobs", `{"source":"` + td.root + `/sources/../kiln.toml","profile":"p1"}`, 400, "bad_source"},
		{"symlink escaping the roots", "POST", "/v1/jobs", `{"source":"` + escape + `","profile":"p1"}`, 403, "outside_roots"},
		{"symlink to a device", "POST", "/v1/jobs", `{"source":"` + device + `","profile":"p1"}`, 403, "outside_roots"},
		{"output outside the roots", "POST", "/v1/jobs", `{"source":"` + src + `","profile":"p1","output":"/etc/kiln-out"}`, 403, "outside_roots"},
		{"unknown profile", "POST", "/v1/jobs", `{"source":"` + src + `","profile":"nope"}`, 400, "bad_profile"},
		{"bad priority", "POST", "/v1/jobs", `{"source":"` + src + `","profile":"p1","priority":"urgent"}`, 400, "bad_priority"},
		{"relative output", "POST", "/v1/jobs", `{"source":"` + src + `","profile":"p1","output":"out"}`, 400, "bad_output"},
		{"bad state filter", "GET", "/v1/jobs?state=paused", ``, 400, "bad_state"},
		{"id not a number", "GET", "/v1/jobs/abc", ``, 400, "bad_id"},
		{"id zero", "GET", "/v1/jobs/0", ``, 400, "bad_id"},
		{"id negative", "GET", "/v1/jobs/-3", ``, 400, "bad_id"},
		{"id too large", "GET", "/v1/jobs/99999999999999999999", ``, 400, "bad_id"},
		{"no such job", "GET", "/v1/jobs/4242", ``, 404, "not_found"},
		{"no such job's events", "GET", "/v1/jobs/4242/events", ``, 404, "not_found"},
		{"bad id's events", "GET", "/v1/jobs/x/events", ``, 400, "bad_id"},
		{"patch no such job", "PATCH", "/v1/jobs/4242", `{"priority":"low"}`, 404, "not_found"},
		{"patch bad priority", "PATCH", fmt.Sprintf("/v1/jobs/%d", doneID), `{"priority":"soon"}`, 400, "bad_priority"},
		{"patch unknown field", "PATCH", fmt.Sprintf("/v1/jobs/%d", doneID), `{"priority":"low","x":1}`, 400, "bad_json"},
		{"patch finished job", "PATCH", fmt.Sprintf("/v1/jobs/%d", doneID), `{"priority":"low"}`, 409, "not_queued"},
		{"cancel finished job", "POST", fmt.Sprintf("/v1/jobs/%d/cancel", doneID), ``, 409, "finished"},
		{"cancel no such job", "POST", "/v1/jobs/4242/cancel", ``, 404, "not_found"},
		{"unknown route", "GET", "/v2/jobs", ``, 404, "not_found"},
		{"trailing slash", "GET", "/v1/jobs/", ``, 404, "not_found"},
		{"unclean path", "GET", "/v1//health", ``, 404, "not_found"},
		{"dot segments", "GET", "/v1/jobs/../health", ``, 404, "not_found"},
		{"unknown job sub-route", "GET", "/v1/jobs/1/logs", ``, 404, "not_found"},
		{"wrong method on a list", "DELETE", "/v1/jobs", ``, 405, "method_not_allowed"},
		{"wrong method on health", "POST", "/v1/health", `{}`, 405, "method_not_allowed"},
		{"wrong method on a job", "DELETE", "/v1/jobs/1", ``, 405, "method_not_allowed"},
		{"wrong method on reload", "GET", "/v1/reload", ``, 405, "method_not_allowed"},
		{"wrong method on metrics", "POST", "/metrics", ``, 405, "method_not_allowed"},
	}
	for _, tc := range cases {
		status, body := td.call(tc.method, tc.path, tc.body)
		wantAPIError(t, tc.name, status, body, tc.status, tc.code)
	}

	// 405 says what would work.
	req, _ := http.NewRequest("PUT", "http://kiln/v1/jobs/1", nil)
	resp, err := td.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if allow := resp.Header.Get("Allow"); allow != "GET, PATCH" {
		t.Errorf("Allow = %q; want GET, PATCH", allow)
	}

	// A source with unfinished jobs cannot be submitted again.
	hang := td.source("dup-hang.mkv")
	id := td.submit(hang, "p1", "")
	status, body := td.call("POST", "/v1/jobs", `{"source":"`+hang+`","profile":"p1"}`)
	wantAPIError(t, "duplicate source", status, body, 409, "source_active")
	td.call("POST", fmt.Sprintf("/v1/jobs/%d/cancel", id), "")

	// Refusals that change nothing are still logged with their sender.
	var found bool
	for _, rec := range td.logs.records("API request") {
		if rec["method"] == "POST" && rec["path"] == "/v1/jobs" && rec["status"] == float64(400) {
			found = rec["peer_uid"] == float64(os.Getuid()) && rec["peer_pid"] == float64(os.Getpid())
			break
		}
	}
	if !found {
		t.Errorf("no log of a refused POST /v1/jobs with this process's uid and pid:\n%s", td.logs)
	}
}

// TestAPIRequestsAreAttributed: every request that changes something is
// logged with the peer's kernel-verified credentials; reads are not logged.
func TestAPIRequestsAreAttributed(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, baseConfig)
	id := td.submit(td.source("who.mkv"), "p1", "high")
	td.waitState(id, "done", 20*time.Second)
	td.call("GET", "/v1/health", "")

	recs := td.logs.records("API request")
	if len(recs) != 1 {
		t.Fatalf("%d API request log records, want 1 (the POST):\n%s", len(recs), td.logs)
	}
	r := recs[0]
	want := map[string]any{"method": "POST", "path": "/v1/jobs", "status": float64(201),
		"peer_uid": float64(os.Getuid()), "peer_gid": float64(os.Getgid()), "peer_pid": float64(os.Getpid())}
	for k, v := range want {
		if r[k] != v {
			t.Errorf("log %s = %v, want %v (record %v)", k, r[k], v, r)
		}
	}
	if r["peer_user"] == "" || r["peer_user"] == nil {
		t.Errorf("log has no peer_user: %v", r)
	}
	if r["component"] != "api" {
		t.Errorf("log record not from the api component logger: %v", r)
	}
}

// TestAPISlowClientsAreDropped: a client that sends half a request is cut
// off after the header timeout instead of holding a connection forever.
func TestAPISlowClientsAreDropped(t *testing.T) {
	t.Parallel()
	td := initDaemon(t, baseConfig)
	td.d.api.server.ReadHeaderTimeout = 300 * time.Millisecond
	td.run()

	conn, err := net.Dial("unix", td.d.Config.Daemon.Socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /v1/health HTTP/1.1\r\nHost: kiln\r\n")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	buf := make([]byte, 512)
	n, err := conn.Read(buf)
	if err == nil && n > 0 && !strings.Contains(string(buf[:n]), "408") {
		t.Fatalf("the server answered a half request: %q", buf[:n])
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server kept a half-sent request open for 5 s")
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("dropped only after %s", took)
	}
}

// TestAPIPanicIsJSON500: a handler that panics answers a JSON 500 and the
// daemon goes on serving.
func TestAPIPanicIsJSON500(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, baseConfig)
	rec := httptest.NewRecorder()
	td.d.api.wrap(route{method: "POST", path: "/boom", handler: func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}}).ServeHTTP(rec, httptest.NewRequest("POST", "/boom", nil))
	wantAPIError(t, "panicking handler", rec.Code, rec.Body.Bytes(), 500, "internal")
	if len(td.logs.records("API handler panicked")) != 1 {
		t.Errorf("the panic was not logged:\n%s", td.logs)
	}
	var h api.Health
	td.getJSON("/v1/health", &h)
}

// TestAPIStoreFailuresAreDescribed: with the job store failing under it,
// every route that reads the store answers 500 `store`, a status that
// api/openapi.json lists for it (the test client checks each answer).
func TestAPIStoreFailuresAreDescribed(t *testing.T) {
	t.Parallel()
	td := initDaemon(t, baseConfig)
	// No Run: nothing else uses the store while it is closed under the API.
	go td.d.api.serve()
	td.d.store.Close()
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/health", ""},
		{"GET", "/v1/jobs", ""},
		{"GET", "/v1/jobs/1", ""},
		{"GET", "/v1/jobs/1/events", ""},
		{"PATCH", "/v1/jobs/1", `{"priority":"low"}`},
		{"POST", "/v1/jobs/1/cancel", ""},
		{"GET", "/v1/nodes", ""},
		{"GET", "/metrics", ""},
	} {
		status, body := td.call(c.method, c.path, c.body)
		var e api.Error
		json.Unmarshal(body, &e)
		if status != http.StatusInternalServerError || e.Error.Code != "store" {
			t.Errorf("%s %s with the store closed: %d %s; want 500 store", c.method, c.path, status, body)
		}
	}
}
