package daemon

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"kiln/api"
)

// TestStoppedWorkerIsKilledAndRetried: a worker stopped with SIGSTOP sends
// nothing more. kilnd kills it once worker_stall_timeout passes without a
// message, and the job runs again, with the reason recorded.
func TestStoppedWorkerIsKilledAndRetried(t *testing.T) {
	t.Parallel()
	cfg := strings.Replace(baseConfig, "max_attempts = 2", "max_attempts = 2\nworker_stall_timeout = \"2s\"", 1)
	td := startDaemon(t, cfg)
	id := td.submit(td.source("stop-long.mkv"), "p1", "")
	td.waitState(id, "running", 10*time.Second)
	var pid int
	waitFor(t, 10*time.Second, "the worker's pid", func() bool {
		j, err := td.d.store.Get(context.Background(), id)
		pid = j.WorkerPID
		return err == nil && pid > 0
	})
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	var reason string
	waitFor(t, 20*time.Second, "the job to be re-queued or run again", func() bool {
		j := td.job(id)
		reason = j.Reason
		return j.Attempts == 2
	})
	if waited := time.Since(stopped); waited < 2*time.Second {
		t.Errorf("the stopped worker was given up after %s, before worker_stall_timeout (2 s)", waited)
	}
	if !strings.Contains(reason, "worker stopped responding") {
		t.Errorf("reason = %q, want it to say the worker stopped responding", reason)
	}
	// The stopped process is gone, not left frozen.
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("the stopped worker (pid %d) still exists", pid)
	}
	j := td.waitState(id, "done", 30*time.Second)
	if j.Attempts != 2 {
		t.Errorf("job done at attempt %d, want 2", j.Attempts)
	}
}

// TestDaemonEnforcesTheJobTimeLimit: a worker that keeps sending progress
// but runs past the time limit it announced (its own timer did not stop
// it) is stopped by kilnd once the limit and worker_stall_timeout have
// passed. The time limit is permanent: the job is not run again.
func TestDaemonEnforcesTheJobTimeLimit(t *testing.T) {
	t.Parallel()
	cfg := strings.Replace(baseConfig, "max_attempts = 2", "max_attempts = 2\nworker_stall_timeout = \"1s\"", 1)
	td := startDaemon(t, cfg)
	began := time.Now()
	id := td.submit(td.source("runaway-overrun.mkv"), "p1", "")
	j := td.waitState(id, "failed", 30*time.Second)
	took := time.Since(began)
	if j.Attempts != 1 || !strings.Contains(j.Reason, "time limit") {
		t.Errorf("job = attempts %d, reason %q; want it failed at attempt 1 over its time limit", j.Attempts, j.Reason)
	}
	// The fake announces a 1 s limit: kilnd stops it after 1 s + 1 s.
	if took < 2*time.Second || took > 15*time.Second {
		t.Errorf("the overrunning worker was stopped after %s, want about 2 s", took)
	}
}

// TestReadOnlyOutputFailsOnce: a job whose output folder is read-only
// fails at its first attempt with the reason; a retry would meet the same
// folder. (The worker's classification is tested on the real worker in
// pipeline; the fake uses the same job.PermanentOS.)
func TestReadOnlyOutputFailsOnce(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, baseConfig)
	out := filepath.Join(td.root, "sources", "ro-out")
	os.MkdirAll(out, 0o755)
	if os.Geteuid() == 0 {
		if b, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=1m", "kiln-ro", out).CombinedOutput(); err != nil {
			t.Fatalf("as root, a read-only folder needs a read-only mount: %v %s", err, b)
		}
		t.Cleanup(func() { exec.Command("umount", out).Run() })
	} else {
		os.Chmod(out, 0o555)
	}
	b, _ := json.Marshal(api.SubmitRequest{Source: td.source("to-ro.mkv"), Profile: "p1", Output: out})
	status, body := td.call("POST", "/v1/jobs", string(b))
	if status != 201 {
		t.Fatalf("submit: %d %s", status, body)
	}
	var c api.Created
	json.Unmarshal(body, &c)
	j := td.waitState(c.ID, "failed", 20*time.Second)
	if j.Attempts != 1 || !strings.Contains(j.Reason, "read-only") {
		t.Errorf("job = attempts %d, reason %q; want failed at attempt 1 naming the read-only folder", j.Attempts, j.Reason)
	}
}
