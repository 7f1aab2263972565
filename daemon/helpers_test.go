package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kiln/api"
	"kiln/api/apitest"
	"kiln/config"
	"kiln/daemon/daemontest"
	"kiln/daemon/store/pgtest"
)

func TestMain(m *testing.M) {
	daemontest.RunFakeWorkerIfAsked()
	runChildDaemonIfAsked()
	code := m.Run()
	pgtest.Stop()
	os.Exit(code)
}

// baseConfig is the config most tests run with; {{root}} is the test's
// folder. Profile "p-low" has priority low, so that overrides can be seen.
const baseConfig = `
[daemon]
state_dir = "{{root}}/state"
socket = "{{root}}/kiln.sock"
cpu_jobs = 2
rescan = "1s"
stop_grace = "5s"
socket_group = ""
submit_roots = ["{{root}}/sources"]
max_attempts = 2

[profile.p1]
kind = "file"
codec = "h264"

[profile.p-low]
kind = "file"
codec = "h264"
priority = "low"
`

// testDaemon is a Daemon running in the test process with the fake worker.
type testDaemon struct {
	t       testing.TB
	d       *Daemon
	root    string
	cfgPath string
	cancel  context.CancelFunc
	done    chan error
	http    *http.Client
	logs    *syncBuffer
}

// newTestRoot makes a short folder: unix socket paths are limited to 107
// bytes, and t.TempDir's names grow with the test's name.
func newTestRoot(t testing.TB) string {
	t.Helper()
	root, err := os.MkdirTemp("", "kd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	return root
}

// writeConfig writes cfg, with {{root}} filled in, to root/kiln.toml.
func writeConfig(t testing.TB, root, cfg string) string {
	t.Helper()
	path := filepath.Join(root, "kiln.toml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(cfg, "{{root}}", root)), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// initDaemon loads cfg and runs Initialize, but not Run.
func initDaemon(t testing.TB, cfg string) *testDaemon {
	t.Helper()
	root := newTestRoot(t)
	path := writeConfig(t, root, cfg)
	c, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	td := &testDaemon{t: t, root: root, cfgPath: path, logs: logs}
	td.d = &Daemon{
		Config:     c,
		ConfigPath: path,
		Logger:     slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		WorkerCmd:  daemontest.WorkerCmd(),
		Version:    "test",
	}
	if err := td.d.Initialize(); err != nil {
		t.Fatalf("Initialize: %v\n%s", err, logs)
	}
	td.http = unixClient(t, c.Daemon.Socket)
	t.Cleanup(func() {
		td.stop()
		if t.Failed() {
			t.Logf("kilnd log:\n%s", logs)
		}
	})
	return td
}

// startDaemon is initDaemon followed by Run in a goroutine. It returns once
// the API answers, which Run allows only after it has taken SIGHUP: a SIGHUP
// before that would kill the test binary.
func startDaemon(t *testing.T, cfg string) *testDaemon {
	t.Helper()
	td := initDaemon(t, cfg)
	td.run()
	waitFor(t, 10*time.Second, "the API to answer", func() bool {
		resp, err := td.http.Get("http://kiln/v1/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return td
}

func (td *testDaemon) run() {
	ctx, cancel := context.WithCancel(context.Background())
	td.cancel = cancel
	td.done = make(chan error, 1)
	go func() { td.done <- td.d.Run(ctx) }()
}

// stop ends Run (as SIGTERM does) and closes the daemon; it is safe to call
// twice.
func (td *testDaemon) stop() {
	if td.cancel != nil {
		td.cancel()
		select {
		case <-td.done:
		case <-time.After(30 * time.Second):
			td.t.Error("Run did not return within 30 s of its context ending")
		}
		td.cancel = nil
	}
	if td.d != nil {
		td.d.Close()
		td.d = nil
	}
}

// unixClient is the tests' API client on socket. Every answer it receives
// is checked against api/openapi.json, and a mismatch fails t.
func unixClient(t testing.TB, socket string) *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: apitest.Transport(t, &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		}})}
}

// call sends a request with a raw body ("" for none) and returns the status
// and the body.
func (td *testDaemon) call(method, path, body string) (int, []byte) {
	td.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://kiln"+path, rd)
	if err != nil {
		td.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := td.http.Do(req)
	if err != nil {
		td.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		td.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// getJSON GETs path, wants 200, and decodes the body into v.
func (td *testDaemon) getJSON(path string, v any) {
	td.t.Helper()
	status, body := td.call("GET", path, "")
	if status != http.StatusOK {
		td.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		td.t.Fatalf("GET %s: %v\n%s", path, err, body)
	}
}

// source creates a small file to submit; its name steers the fake worker.
func (td *testDaemon) source(name string) string {
	td.t.Helper()
	dir := filepath.Join(td.root, "sources")
	os.MkdirAll(dir, 0o755)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("not really video: "+name), 0o644); err != nil {
		td.t.Fatal(err)
	}
	return p
}

// submit posts a job and returns its id.
func (td *testDaemon) submit(source, profile, priority string) int64 {
	td.t.Helper()
	b, _ := json.Marshal(api.SubmitRequest{Source: source, Profile: profile, Priority: priority})
	status, body := td.call("POST", "/v1/jobs", string(b))
	if status != http.StatusCreated {
		td.t.Fatalf("submit %s: %d %s", source, status, body)
	}
	var c api.Created
	if err := json.Unmarshal(body, &c); err != nil {
		td.t.Fatal(err)
	}
	return c.ID
}

func (td *testDaemon) job(id int64) api.Job {
	td.t.Helper()
	var j api.Job
	td.getJSON(fmt.Sprintf("/v1/jobs/%d", id), &j)
	return j
}

// waitState waits until job id is in state, and returns it.
func (td *testDaemon) waitState(id int64, state string, timeout time.Duration) api.Job {
	td.t.Helper()
	var j api.Job
	waitFor(td.t, timeout, fmt.Sprintf("job %d to be %s", id, state), func() bool {
		j = td.job(id)
		return j.State == state
	})
	return j
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantAPIError checks an error answer: the status, and a JSON body with the
// code and a message.
func wantAPIError(t *testing.T, what string, status int, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Errorf("%s: status %d, want %d; body %s", what, status, wantStatus, body)
	}
	var e api.Error
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		t.Errorf("%s: error body is not {\"error\":{...}} JSON: %v: %s", what, err, body)
		return
	}
	if e.Error.Code != wantCode || e.Error.Message == "" {
		t.Errorf("%s: error %+v, want code %q and a message", what, e.Error, wantCode)
	}
}

// syncBuffer is the daemon's log, safe for its goroutines, with a reader of
// its records.
type syncBuffer struct{ daemontest.SyncBuffer }

// records returns the daemon's log records with the given message.
func (s *syncBuffer) records(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(s.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}
