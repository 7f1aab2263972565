package e2e

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const crashConfig = `
[daemon]
state_dir  = "{{root}}/state"
socket     = "{{root}}/run/kiln.sock"
cpu_jobs   = 1
rescan     = "1s"
stop_grace = "0s"

[[watch]]
name     = "crash"
inbox    = "{{root}}/in"
output   = "{{root}}/out"
profiles = ["pal"]
settle   = "1s"

[profile.pal]
kind     = "broadcast"
standard = "pal"
`

// restart starts kilnd again on the same folders and config.
func (d *daemon) restart(t *testing.T) {
	t.Helper()
	log, err := os.OpenFile(d.log.Name(), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	d.log = log
	d.cmd = exec.Command(kilndBin, "--config", filepath.Join(d.root, "kiln.toml"))
	d.cmd.Stdout, d.cmd.Stderr = log, log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.http = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", d.socket)
		}}}
	waitFor(t, 15*time.Second, "kilnd to answer again", func() bool {
		var h map[string]any
		return d.get("/v1/health", &h) == nil
	})
}

// workers lists the pids of this test binary's CPU workers (kiln-worker,
// built next to kilnd).
func workers() []int {
	out, _ := exec.Command("pgrep", "-f", filepath.Join(filepath.Dir(kilndBin), "kiln-worker")+" worker").Output()
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		var pid int
		for _, c := range f {
			pid = pid*10 + int(c-'0')
		}
		pids = append(pids, pid)
	}
	return pids
}

// slowClip is a source long enough (1080i, 24 s) that a kill lands mid-job:
// the PAL chain runs it at several times real time, so 8 s were once done
// before a test could see the job under way. It is made once per test
// binary and shared (drop copies it).
func slowClip(t *testing.T) string {
	slowClipOnce.Lock()
	defer slowClipOnce.Unlock()
	path := filepath.Join(filepath.Dir(kilndBin), "slow.ts")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	return ffmpeg(t, path,
		"-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=50", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
		"-t", "24", "-vf", "tinterlace=mode=interleave_top,setfield=tff", "-c:v", "libx264", "-preset", "ultrafast",
		"-flags", "+ildct+ilme", "-x264-params", "tff=1", "-c:a", "aac", "-f", "mpegts")
}

var slowClipOnce sync.Mutex

// TestDaemonKilledMidJob kills kilnd with SIGKILL while a job runs: the
// worker dies with it, nothing partial is visible, and after a restart the
// job completes exactly once with staging cleaned and the source intact.
func TestDaemonKilledMidJob(t *testing.T) {
	src := slowClip(t)
	original, _ := os.ReadFile(src)
	d := startDaemon(t, crashConfig)
	inbox, out := filepath.Join(d.root, "in"), filepath.Join(d.root, "out")
	waitFor(t, 10*time.Second, "the inbox", func() bool { _, err := os.Stat(inbox); return err == nil })
	drop(t, src, inbox, "crash.ts")
	waitFor(t, 60*time.Second, "the job to be under way", func() bool {
		jobs := d.jobs()
		return len(jobs) == 1 && jobs[0].State == "running" && jobs[0].Progress.Fraction > 0.1
	})
	if len(workers()) == 0 {
		t.Fatal("no worker process found while the job runs")
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	d.cmd.Wait()
	waitFor(t, 5*time.Second, "the worker to die with the daemon", func() bool { return len(workers()) == 0 })
	if _, err := os.Stat(filepath.Join(out, "crash", "pal")); !os.IsNotExist(err) {
		t.Fatal("a partial output is visible after the crash")
	}
	if _, err := os.Stat(filepath.Join(inbox, "crash.ts")); err != nil {
		t.Fatalf("the source left the inbox: %v", err)
	}

	d.restart(t)
	waitFor(t, 3*time.Minute, "the job to complete after the restart", func() bool {
		_, err := os.Stat(filepath.Join(inbox, "done", "crash.ts"))
		return err == nil
	})
	jobs := d.jobs()
	if len(jobs) != 1 || jobs[0].State != "done" {
		t.Fatalf("jobs after the restart: %+v; want exactly one, done", jobs)
	}
	entries, _ := os.ReadDir(filepath.Join(out, "crash", "pal"))
	if len(entries) != 2 { // crash.ts and crash.kiln.json
		t.Errorf("outputs: %d files, want the output and its report once", len(entries))
	}
	if left, _ := os.ReadDir(filepath.Join(out, ".kiln-staging")); len(left) != 0 {
		t.Errorf("staging not cleaned: %d entries", len(left))
	}
	if b, _ := os.ReadFile(filepath.Join(inbox, "done", "crash.ts")); string(b) != string(original) {
		t.Error("the source changed")
	}
}

// TestWorkerKilledMidJob kills the worker with SIGKILL: the job is retried
// (max_attempts defaults to 2) and completes.
func TestWorkerKilledMidJob(t *testing.T) {
	src := slowClip(t)
	d := startDaemon(t, crashConfig)
	inbox := filepath.Join(d.root, "in")
	waitFor(t, 10*time.Second, "the inbox", func() bool { _, err := os.Stat(inbox); return err == nil })
	drop(t, src, inbox, "crash.ts")
	waitFor(t, 60*time.Second, "the job to be under way", func() bool {
		jobs := d.jobs()
		return len(jobs) == 1 && jobs[0].State == "running" && jobs[0].Progress.Fraction > 0.1
	})
	for _, pid := range workers() {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	waitFor(t, 3*time.Minute, "the retried job to complete", func() bool {
		_, err := os.Stat(filepath.Join(inbox, "done", "crash.ts"))
		return err == nil
	})
	jobs := d.jobs()
	if len(jobs) != 1 || jobs[0].State != "done" || jobs[0].Attempts != 2 {
		t.Fatalf("after the worker was killed: %+v; want one job, done on its second attempt", jobs)
	}
}
