package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kiln/api"
)

// watchConfig adds one watch folder to baseConfig.
func watchConfig(name, priority string) string {
	return baseConfig + fmt.Sprintf(`
[[watch]]
name = %q
inbox = "{{root}}/in/%[1]s"
output = "{{root}}/out/%[1]s"
profiles = ["p-low"]
priority = %q
settle = "1s"
`, name, priority)
}

// dropFile writes a file into an inbox the careful way: a hidden name, then
// a rename.
func dropFile(t *testing.T, inbox, name string) string {
	t.Helper()
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(inbox, "."+name+".part")
	if err := os.WriteFile(tmp, []byte("a source called "+name), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(inbox, name)
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestSIGHUPAddsWatchFolder: a watch folder added to the config and a
// SIGHUP later, a file dropped into the new inbox is taken in, run, and the
// source filed to done/. The watch's priority overrides its profile's.
//
// Tests that send SIGHUP are not parallel: every daemon in the test process
// would take the signal.
func TestSIGHUPAddsWatchFolder(t *testing.T) {
	td := startDaemon(t, baseConfig)
	var watches []map[string]any
	td.getJSON("/v1/watches", &watches)
	if len(watches) != 0 {
		t.Fatalf("watches before the reload: %v", watches)
	}

	writeConfig(t, td.root, watchConfig("news", "high"))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the new watch to appear in /v1/watches", func() bool {
		var ws []map[string]any
		td.getJSON("/v1/watches", &ws)
		return len(ws) == 1 && ws[0]["name"] == "news" && ws[0]["settle"] == "1s"
	})

	inbox := filepath.Join(td.root, "in", "news")
	dropFile(t, inbox, "bulletin.mxf")
	var j api.Job
	waitFor(t, 20*time.Second, "a job from the new inbox to finish", func() bool {
		var jobs []api.Job
		td.getJSON("/v1/jobs", &jobs)
		if len(jobs) == 1 {
			j = jobs[0]
		}
		return len(jobs) == 1 && j.State == "done"
	})
	if j.Watch != "news" || j.Profile != "p-low" || j.Priority != "high" {
		t.Errorf("job = %+v; want watch news, profile p-low, the watch's priority high", j)
	}
	if _, err := os.Stat(filepath.Join(td.root, "out", "news", "bulletin", "p-low", "bulletin.out")); err != nil {
		t.Errorf("output not published: %v", err)
	}
	waitFor(t, 5*time.Second, "the source to move to done/", func() bool {
		_, err := os.Stat(filepath.Join(inbox, "done", "bulletin.mxf"))
		return err == nil
	})

	var metrics string
	waitFor(t, 5*time.Second, "watch metrics", func() bool {
		_, b := td.call("GET", "/metrics", "")
		metrics = string(b)
		return strings.Contains(metrics, `kiln_watch_files_taken_total{watch="news"} 1`)
	})
	if strings.Contains(metrics, `kiln_watch_events_total{watch="news"} 0`) {
		t.Errorf("no filesystem events counted for the new inbox:\n%s", metrics)
	}
}

// TestReloadLeavesRunningJobsAlone: a reload that removes the running job's
// watch and profile lets the job finish as it started; unchanged watch
// folders keep running across a reload; files dropped into a removed inbox
// are no longer taken in.
func TestReloadLeavesRunningJobsAlone(t *testing.T) {
	t.Parallel()
	cfg := watchConfig("keep", "") + `
[profile.gone]
kind = "file"
codec = "h264"

[[watch]]
name = "gone"
inbox = "{{root}}/in/gone"
output = "{{root}}/out/gone"
profiles = ["gone"]
settle = "1s"
`
	td := startDaemon(t, cfg)
	var keepBefore *runningWatch
	waitFor(t, 5*time.Second, "the watch folders to start", func() bool {
		td.d.mu.Lock()
		defer td.d.mu.Unlock()
		keepBefore = td.d.watchers["keep"]
		return keepBefore != nil
	})

	dropFile(t, filepath.Join(td.root, "in", "gone"), "long-slow.ts")
	var running api.Job
	waitFor(t, 20*time.Second, "the job from the removed watch to run", func() bool {
		var jobs []api.Job
		td.getJSON("/v1/jobs?state=running", &jobs)
		if len(jobs) == 1 {
			running = jobs[0]
		}
		return len(jobs) == 1
	})

	writeConfig(t, td.root, watchConfig("keep", ""))
	status, body := td.call("POST", "/v1/reload", "")
	if status != 200 {
		t.Fatalf("reload: %d %s", status, body)
	}
	var profiles map[string]any
	td.getJSON("/v1/profiles", &profiles)
	if _, ok := profiles["gone"]; ok {
		t.Error("profile gone still listed after the reload")
	}
	td.d.mu.Lock()
	keepAfter, goneAfter := td.d.watchers["keep"], td.d.watchers["gone"]
	td.d.mu.Unlock()
	if keepAfter != keepBefore || keepAfter == nil {
		t.Error("the unchanged watch folder was restarted by the reload")
	}
	if goneAfter != nil {
		t.Error("the removed watch folder still runs")
	}

	done := td.waitState(running.ID, "done", 20*time.Second)
	if done.Attempts != 1 || done.Profile != "gone" {
		t.Errorf("the running job after the reload: %+v", done)
	}

	dropFile(t, filepath.Join(td.root, "in", "gone"), "late.ts")
	time.Sleep(2500 * time.Millisecond) // settle is 1 s; rescans every 1 s
	var jobs []api.Job
	td.getJSON("/v1/jobs", &jobs)
	if len(jobs) != 1 {
		t.Errorf("a file in the removed inbox was taken in: %d jobs", len(jobs))
	}
}

// TestInvalidReloadKeepsOldConfig: a broken config, by SIGHUP or by the API,
// is refused whole. The old config runs on, /v1/health shows why, and a
// fixed config is taken on the next reload.
func TestInvalidReloadKeepsOldConfig(t *testing.T) {
	td := startDaemon(t, watchConfig("main", ""))

	broken := strings.Replace(watchConfig("main", "")+watchConfig("second", "")[len(baseConfig):], "cpu_jobs = 2", "cpu_jobs = 0", 1)
	os.WriteFile(td.cfgPath, []byte(strings.ReplaceAll(broken, "{{root}}", td.root)), 0o644)
	syscall.Kill(os.Getpid(), syscall.SIGHUP)
	var h api.Health
	waitFor(t, 10*time.Second, "health to report the rejected reload", func() bool {
		h = api.Health{}
		td.getJSON("/v1/health", &h)
		return h.ReloadError != ""
	})
	if h.Status != "degraded" || !strings.Contains(h.ReloadError, td.cfgPath+":5: daemon: cpu_jobs = 0 is out of range") {
		t.Errorf("health = %+v; want degraded with file:line and the reason", h)
	}
	var ws []map[string]any
	td.getJSON("/v1/watches", &ws)
	if len(ws) != 1 {
		t.Errorf("watches after a rejected reload = %d; the old config has 1", len(ws))
	}
	if td.d.cfg.Load().Daemon.CPUJobs != 2 {
		t.Errorf("cpu_jobs = %d after a rejected reload", td.d.cfg.Load().Daemon.CPUJobs)
	}

	// The API says the same, with a JSON error.
	status, body := td.call("POST", "/v1/reload", "")
	wantAPIError(t, "rejected reload", status, body, 422, "config_invalid")
	if !strings.Contains(string(body), "cpu_jobs = 0 is out of range") {
		t.Errorf("reload error does not say why: %s", body)
	}
	_, m := td.call("GET", "/metrics", "")
	for _, want := range []string{`kiln_config_reloads_total{result="rejected"} 2`, "kiln_config_last_reload_successful 0"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// Also refused: what cannot change without a restart.
	moved := strings.Replace(watchConfig("main", ""), `state_dir = "{{root}}/state"`, `state_dir = "{{root}}/elsewhere"`, 1)
	writeConfig(t, td.root, moved)
	status, body = td.call("POST", "/v1/reload", "")
	wantAPIError(t, "state_dir change", status, body, 422, "config_invalid")

	writeConfig(t, td.root, watchConfig("main", "")+watchConfig("second", "")[len(baseConfig):])
	status, body = td.call("POST", "/v1/reload", "")
	if status != 200 {
		t.Fatalf("reload of the fixed config: %d %s", status, body)
	}
	h = api.Health{}
	td.getJSON("/v1/health", &h)
	if h.Status != "ok" || h.ReloadError != "" {
		t.Errorf("health after a good reload = %+v", h)
	}
	td.getJSON("/v1/watches", &ws)
	if len(ws) != 2 {
		t.Errorf("watches after the fixed reload = %d, want 2", len(ws))
	}
}

// TestReloadRetriesFailedWatch: a watch whose inbox cannot be created gives
// up with an error; once the cause is fixed, a reload of the same config
// starts it again.
func TestReloadRetriesFailedWatch(t *testing.T) {
	t.Parallel()
	root := newTestRoot(t)
	blocker := filepath.Join(root, "blocked")
	os.WriteFile(blocker, []byte("a file where a folder should be"), 0o644)
	cfg := strings.Replace(watchConfig("late", ""), `inbox = "{{root}}/in/late"`, `inbox = "{{root}}/blocked/in"`, 1)
	cfg = strings.ReplaceAll(cfg, "{{root}}", root)

	td := startDaemon(t, cfg)
	waitFor(t, 5*time.Second, "the watch to give up", func() bool {
		return len(td.logs.records("cannot create folder; watch disabled until reload")) == 1
	})
	os.Remove(blocker)
	if status, body := td.call("POST", "/v1/reload", ""); status != 200 {
		t.Fatalf("reload: %d %s", status, body)
	}
	dropFile(t, filepath.Join(blocker, "in"), "retry.mkv")
	waitFor(t, 20*time.Second, "the file to be taken in after the reload", func() bool {
		var jobs []api.Job
		td.getJSON("/v1/jobs", &jobs)
		return len(jobs) == 1
	})
}
