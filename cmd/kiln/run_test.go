package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"kiln/api"
	"kiln/config"
	"kiln/daemon"
	"kiln/daemon/daemontest"
)

func TestMain(m *testing.M) {
	daemontest.RunFakeWorkerIfAsked()
	os.Exit(m.Run())
}

// testConfig runs one job at a time, so that tests can hold a job in the
// queue behind a running one.
const testConfig = `
[daemon]
state_dir = "{{root}}/state"
socket = "{{root}}/kiln.sock"
cpu_jobs = 1
stop_grace = "0s"
socket_group = ""
submit_roots = ["{{root}}"]

[[watch]]
name = "news"
inbox = "{{root}}/in"
output = "{{root}}/out"
profiles = ["p1"]
priority = "high"

[profile.p1]
kind = "file"
codec = "h264"

[profile.mezz]
kind = "file"
codec = "prores"
`

// startDaemon runs a real daemon, in this process, with the fake worker.
func startDaemon(t *testing.T) (socket, root string) {
	t.Helper()
	root, path := testRoot(t)
	td := runDaemon(t, path)
	t.Cleanup(td.stop)
	return td.socket, root
}

// testRoot makes a folder with testConfig in it, and returns the folder and
// the config's path.
func testRoot(t *testing.T) (root, path string) {
	t.Helper()
	root, err := os.MkdirTemp("", "kc") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	path = filepath.Join(root, "kiln.toml")
	os.WriteFile(path, []byte(strings.ReplaceAll(testConfig, "{{root}}", root)), 0o644)
	return root, path
}

// testDaemon is a daemon running in this process, which a test may stop
// and start again on the same config and store, as a restart would.
type testDaemon struct {
	t      *testing.T
	socket string
	cancel context.CancelFunc
	done   chan struct{}
	d      *daemon.Daemon
	logs   *daemontest.SyncBuffer
	once   sync.Once
}

func runDaemon(t *testing.T, path string) *testDaemon {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	logs := &daemontest.SyncBuffer{}
	d := &daemon.Daemon{Config: cfg, ConfigPath: path, WorkerCmd: daemontest.WorkerCmd(), Version: "cli-test",
		Logger: slog.New(slog.NewJSONHandler(logs, nil))}
	if err := d.Initialize(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	td := &testDaemon{t: t, socket: cfg.Daemon.Socket, cancel: cancel, done: make(chan struct{}), d: d, logs: logs}
	go func() { d.Run(ctx); close(td.done) }()
	return td
}

// stop stops the daemon as SIGTERM does; running jobs are re-queued.
func (td *testDaemon) stop() {
	td.once.Do(func() {
		td.cancel()
		<-td.done
		td.d.Close()
		if td.t.Failed() {
			td.t.Logf("kilnd log:\n%s", td.logs)
		}
	})
}

// kiln runs the CLI and returns its exit code, stdout and stderr.
func kiln(t *testing.T, socket string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	code := run(ctx, append([]string{"--socket", socket}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// ok runs the CLI and fails the test unless it exits 0.
func ok(t *testing.T, socket string, args ...string) string {
	t.Helper()
	code, out, errOut := kiln(t, socket, args...)
	if code != 0 {
		t.Fatalf("kiln %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func source(t *testing.T, root, name string) string {
	t.Helper()
	p := filepath.Join(root, name)
	if err := os.WriteFile(p, []byte("source "+name), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func wantContains(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, got)
		}
	}
}

// TestEveryCommandTakesJSON: with --json, before or after the command,
// every command prints the daemon's answer as JSON.
func TestEveryCommandTakesJSON(t *testing.T) {
	socket, root := startDaemon(t)
	hold := source(t, root, "hold-hang.mkv")
	var created api.Created
	if err := json.Unmarshal([]byte(ok(t, socket, "submit", hold, "--profile", "p1", "--json")), &created); err != nil || created.ID == 0 {
		t.Fatalf("submit --json: %v", err)
	}
	queued := ok(t, socket, "--json", "submit", source(t, root, "later.mkv"), "--profile", "mezz")
	var q api.Created
	json.Unmarshal([]byte(queued), &q)

	cmds := [][]string{
		{"health"}, {"hardware"}, {"nodes"}, {"profiles"}, {"watches"}, {"jobs"}, {"jobs", "--state", "queued"},
		{"show", fmt.Sprint(created.ID)}, {"priority", fmt.Sprint(q.ID), "low"}, {"reload"},
		{"cancel", fmt.Sprint(q.ID)}, {"cancel", fmt.Sprint(created.ID)},
		{"submit", source(t, root, "w.mkv"), "--profile", "p1", "--wait"},
	}
	for _, args := range cmds {
		for _, front := range []bool{false, true} {
			if front && (args[0] == "cancel" || args[0] == "submit" || args[0] == "priority") {
				continue // not twice
			}
			full := append(append([]string{}, args...), "--json")
			if front {
				full = append([]string{"--json"}, args...)
			}
			out := ok(t, socket, full...)
			var v any
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Errorf("kiln %s printed no single JSON document: %v\n%s", strings.Join(full, " "), err, out)
			}
		}
	}
	// watch prints JSON lines, one array per refresh.
	out := ok(t, socket, "watch", "--until-idle", "--json")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var jobs []api.Job
		if err := json.Unmarshal([]byte(line), &jobs); err != nil {
			t.Errorf("watch --json line is not a JSON array: %v: %q", err, line)
		}
	}
}

// TestSubmitWaitShowsProgress: submit --wait follows the job's events and
// draws a progress bar with percent, fps and ETA, then says where the
// outputs are.
func TestSubmitWaitShowsProgress(t *testing.T) {
	socket, root := startDaemon(t)
	out := ok(t, socket, "submit", source(t, root, "feature-slow.mkv"), "--profile", "p1", "--priority", "low", "--wait")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	running, moving := 0, 0
	for _, l := range lines {
		if strings.Contains(l, "fps  ETA") {
			running++
			wantContains(t, "progress line", l, "] ", "%", "p1")
			if strings.Contains(l, "[#") && strings.Contains(l, "50.0 fps") {
				moving++
			}
		}
	}
	if running < 3 || moving < 2 {
		t.Errorf("%d progress lines while running; want several:\n%s", running, out)
	}
	wantContains(t, "submit --wait", out, "[##############################] 100%  done",
		"outputs in "+filepath.Join(root, "state", "out", "feature-slow", "p1"))

	// The job then shows its report, with the worker's resources.
	show := ok(t, socket, "show", "1")
	wantContains(t, "show", show, "state     done", "priority  low", "report:", `"resources"`, `"peak_rss_bytes"`)

	// A job that fails makes submit --wait fail, with the reason.
	code, _, errOut := kiln(t, socket, "submit", source(t, root, "broken-fail.mkv"), "--profile", "p1", "--wait")
	if code != exitJobFailed || !strings.Contains(errOut, "failed: no video stream") {
		t.Errorf("submit --wait of a failing job: exit %d, stderr %q", code, errOut)
	}
}

// TestTables: the human output of the listing commands.
func TestTables(t *testing.T) {
	socket, root := startDaemon(t)
	wantContains(t, "health", ok(t, socket, "health"), "status   ok", "version  cli-test", "queued   0")
	wantContains(t, "profiles", ok(t, socket, "profiles"),
		"PROFILE", "mezz", "prores", "mov", "p1", "h264", "mp4", "8M", "normal")
	wantContains(t, "watches", ok(t, socket, "watches"), "news", filepath.Join(root, "in"), "high", "5s")
	wantContains(t, "hardware", ok(t, socket, "hardware"),
		"backend", "cpu", "cuda", "no: GPU worker not configured", "nvenc h264", "nvenc sessions  0 in use of 0 (", "gpus", "none")
	wantContains(t, "reload", ok(t, socket, "reload"), "config reloaded from", "1 watch folders, 2 profiles")
	host, _ := os.Hostname()
	wantContains(t, "nodes", ok(t, socket, "nodes"), "NODE", "STATE", "LAST HEARTBEAT", host+" (this)", "  up  ", "cli-test")

	hold := source(t, root, "hold-hang.mkv")
	ok(t, socket, "submit", hold, "--profile", "p1")
	wantContains(t, "submit", ok(t, socket, "submit", source(t, root, "next.mkv"), "--profile", "p1"), "job 2 queued")
	waitRunning(t, socket, 1)
	wantContains(t, "priority", ok(t, socket, "priority", "2", "high"), "job 2 priority high")
	jobs := ok(t, socket, "jobs")
	wantContains(t, "jobs", jobs, "ID", "STATE", "NODE", host, "running", "queued", "high", "hold-hang.mkv", "next.mkv")
	if q := ok(t, socket, "jobs", "--state", "queued"); strings.Contains(q, "hold-hang") {
		t.Errorf("jobs --state queued lists the running job:\n%s", q)
	}
	wantContains(t, "watch", ok(t, socket, "cancel", "1"), "job 1 cancelled")
	out := ok(t, socket, "watch", "--until-idle")
	wantContains(t, "watch --until-idle", out, "no running jobs")
}

func waitRunning(t *testing.T, socket string, id int64) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var j api.Job
		// The job may not be submitted yet: keep asking.
		_, out, _ := kiln(t, socket, "show", fmt.Sprint(id), "--json")
		if json.Unmarshal([]byte(out), &j) == nil && j.State == "running" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("job %d did not start", id)
}

// TestErrors: usage mistakes exit 2 and name the mistake; the daemon's
// refusals exit 1 and an unreachable daemon 3, with the reason on stderr.
func TestErrors(t *testing.T) {
	socket, root := startDaemon(t)
	cases := []struct {
		args []string
		code int
		say  string
	}{
		{nil, 2, "usage: kiln"},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"submit", "x.mkv"}, 2, "submit needs --profile"},
		{[]string{"submit", "x.mkv"}, 2, "usage: kiln submit FILE --profile P"},
		{[]string{"show"}, 2, "usage: kiln"},
		{[]string{"health", "extra"}, 2, "usage: kiln health"},
		{[]string{"submit", filepath.Join(root, "missing.mkv"), "--profile", "p1"}, 1, "(bad_source)"},
		{[]string{"submit", source(t, root, "a.mkv"), "--profile", "nope"}, 1, `profile "nope" is not defined`},
		{[]string{"show", "abc"}, 1, "(bad_id)"},
		{[]string{"show", "999"}, 1, "no job 999 (not_found)"},
		{[]string{"priority", "999", "urgent"}, 1, "(not_found)"},
		{[]string{"jobs", "--state", "paused"}, 1, "(bad_state)"},
	}
	for _, tc := range cases {
		code, _, errOut := kiln(t, socket, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.say) {
			t.Errorf("kiln %v: exit %d, stderr %q; want exit %d saying %q", tc.args, code, errOut, tc.code, tc.say)
		}
	}
	code, _, errOut := kiln(t, filepath.Join(root, "nobody.sock"), "health")
	if code != exitUnreachable || !strings.Contains(errOut, "cannot reach kilnd at") {
		t.Errorf("no daemon: exit %d, %q", code, errOut)
	}
}

// TestEventStreamParsing reads a stream as the daemon may write it: a
// comment, an event with its data split over two lines, an event with no
// name; and takes a JSON error answer as an error.
func TestEventStreamParsing(t *testing.T) {
	dir, _ := os.MkdirTemp("", "ke")
	defer os.RemoveAll(dir)
	sock := filepath.Join(dir, "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/jobs/7/events" {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, ": keepalive\n\nid: 1\nevent: progress\ndata: {\"id\":7,\n", "data: \"state\":\"running\"}\n\n",
				"data: {\"id\":7,\"state\":\"running\",\"progress\":{\"fraction\":0.5}}\n\n",
				"event: end\ndata: {\"id\":7,\"state\":\"done\"}\n\n")
			return
		}
		w.WriteHeader(404)
		fmt.Fprint(w, `{"error":{"code":"not_found","message":"no job 8"}}`)
	})}
	go srv.Serve(l)
	defer srv.Close()

	c := newClient(sock)
	var got []string
	err = c.events(context.Background(), 7, func(event string, j api.Job) {
		got = append(got, fmt.Sprintf("%s:%d:%s:%.1f", event, j.ID, j.State, j.Progress.Fraction))
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "progress:7:running:0.0 :7:running:0.5 end:7:done:0.0"; strings.Join(got, " ") != want {
		t.Errorf("events = %v, want %s", got, want)
	}
	err = c.events(context.Background(), 8, func(string, api.Job) {})
	if err == nil || err.Error() != "no job 8 (not_found)" {
		t.Errorf("error answer: %v", err)
	}
}
