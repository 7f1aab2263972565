package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"kiln/api"
	"kiln/staging"
)

// TestPrioritiesThroughAPI: with one slot, queued jobs start by priority,
// then by age. The API's priority overrides the profile's, a job without one
// takes its profile's, and PATCH moves a queued job (but not a running one).
func TestPrioritiesThroughAPI(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, strings.Replace(baseConfig, "cpu_jobs = 2", "cpu_jobs = 1", 1))
	blocker := td.submit(td.source("blocker-hang.mkv"), "p1", "")
	td.waitState(blocker, "running", 20*time.Second)

	a := td.submit(td.source("a.mkv"), "p1", "")        // normal
	b := td.submit(td.source("b.mkv"), "p-low", "")     // low, from its profile
	c := td.submit(td.source("c.mkv"), "p1", "low")     // low, from the API
	d := td.submit(td.source("d.mkv"), "p-low", "high") // the API beats the profile
	e := td.submit(td.source("e.mkv"), "p1", "")        // normal

	for id, want := range map[int64]string{a: "normal", b: "low", c: "low", d: "high", e: "normal"} {
		if got := td.job(id).Priority; got != want {
			t.Errorf("job %d priority = %s, want %s", id, got, want)
		}
	}

	// Move c to the front and e to the back.
	for id, p := range map[int64]string{c: "high", e: "low"} {
		status, body := td.call("PATCH", fmt.Sprintf("/v1/jobs/%d", id), `{"priority":"`+p+`"}`)
		var j api.Job
		if status != 200 || json.Unmarshal(body, &j) != nil || j.Priority != p || j.State != "queued" {
			t.Errorf("PATCH job %d to %s: %d %s", id, p, status, body)
		}
	}
	status, body := td.call("PATCH", fmt.Sprintf("/v1/jobs/%d", blocker), `{"priority":"low"}`)
	wantAPIError(t, "PATCH a running job", status, body, 409, "not_queued")

	td.call("POST", fmt.Sprintf("/v1/jobs/%d/cancel", blocker), "")
	var jobs []api.Job
	waitFor(t, 30*time.Second, "the queue to run empty", func() bool {
		td.getJSON("/v1/jobs?state=done", &jobs)
		return len(jobs) == 5
	})
	sort.Slice(jobs, func(i, k int) bool { return jobs[i].StartedAt.Before(*jobs[k].StartedAt) })
	var order []int64
	for _, j := range jobs {
		order = append(order, j.ID)
	}
	// c and d are both high: c was queued first.
	want := []int64{c, d, a, b, e}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("start order %v, want %v (c, d high; a normal; b low, queued before e)", order, want)
	}
}

// TestJobEvents follows a job over server-sent events: progress events while
// it runs, with rising fractions, then one end event with the report, and
// the stream closes.
//
// The server's timeouts are cut to 300 ms, so that the 2 s stream shows it
// outlives them: a stream is not a slow client.
func TestJobEvents(t *testing.T) {
	t.Parallel()
	td := initDaemon(t, baseConfig)
	td.d.api.server.ReadTimeout = 300 * time.Millisecond
	td.d.api.server.WriteTimeout = 300 * time.Millisecond
	td.run()
	id := td.submit(td.source("events-slow.mkv"), "p1", "")

	resp, err := td.http.Get(fmt.Sprintf("http://kiln/v1/jobs/%d/events", id))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "text/event-stream" {
		t.Fatalf("events: %d %s", resp.StatusCode, ct)
	}
	type event struct {
		name string
		job  api.Job
	}
	var events []event
	var name string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var j api.Job
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &j); err != nil {
				t.Fatalf("event data: %v: %s", err, line)
			}
			events = append(events, event{name, j})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	if len(events) < 4 {
		t.Fatalf("%d events; a 2 s job in 20 steps should give several", len(events))
	}
	last := events[len(events)-1]
	if last.name != api.EventEnd || last.job.State != "done" || len(last.job.Report) == 0 {
		t.Errorf("last event = %s %+v; want end, done, with the report", last.name, last.job)
	}
	prev := -1.0
	running := 0
	for _, e := range events[:len(events)-1] {
		if e.name != api.EventProgress {
			t.Errorf("event %q before the end", e.name)
		}
		if e.job.State == "running" {
			running++
			if e.job.Progress.Fraction < prev {
				t.Errorf("progress went back: %v after %v", e.job.Progress.Fraction, prev)
			}
			prev = e.job.Progress.Fraction
			if e.job.Progress.Fraction > 0.1 && (e.job.Progress.FPS != 50 || e.job.Progress.ETA <= 0 || e.job.Progress.Stage != "encode") {
				t.Errorf("running progress without fps, ETA or stage: %+v", e.job.Progress)
			}
		}
	}
	if running < 3 {
		t.Errorf("only %d progress events while running", running)
	}

	// A finished job's stream is its end event alone.
	resp2, err := td.http.Get(fmt.Sprintf("http://kiln/v1/jobs/%d/events", id))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := readAll(resp2)
	if strings.Count(string(b), "event: ") != 1 || !strings.Contains(string(b), "event: end") {
		t.Errorf("events of a finished job:\n%s", b)
	}
}

func readAll(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	var sb strings.Builder
	_, err := bufio.NewReader(resp.Body).WriteTo(&sb)
	return []byte(sb.String()), err
}

// TestEventStreamsEndOnShutdown: an open stream does not hold the daemon's
// exit.
func TestEventStreamsEndOnShutdown(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, strings.Replace(baseConfig, `stop_grace = "5s"`, `stop_grace = "0s"`, 1))
	id := td.submit(td.source("stream-hang.mkv"), "p1", "")
	resp, err := td.http.Get(fmt.Sprintf("http://kiln/v1/jobs/%d/events", id))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	td.stop()
	// The server's shutdown gives open connections 2 s; a stream that only
	// ended then would have held the exit.
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("stopping with an open event stream took %s", took)
	}
}

// TestCancelRunningJob: the worker is stopped, the job is cancelled, and its
// staging folder is gone.
func TestCancelRunningJob(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, baseConfig)
	id := td.submit(td.source("cancel-hang.mkv"), "p1", "")
	td.waitState(id, "running", 20*time.Second)
	stagingDir := filepath.Join(td.root, "state", "out", staging.FolderName)
	waitFor(t, 10*time.Second, "the worker's staging folder", func() bool {
		entries, _ := os.ReadDir(stagingDir)
		return len(entries) == 1
	})

	status, body := td.call("POST", fmt.Sprintf("/v1/jobs/%d/cancel", id), "")
	var j api.Job
	if status != 200 || json.Unmarshal(body, &j) != nil || j.State != "cancelled" {
		t.Fatalf("cancel: %d %s", status, body)
	}
	if entries, _ := os.ReadDir(stagingDir); len(entries) != 0 {
		t.Errorf("staging left after cancel: %v", entries)
	}
	if got := td.job(id); got.State != "cancelled" || got.Reason != "cancelled while running" {
		t.Errorf("job = %+v", got)
	}
	// A queued job is cancelled without a worker.
	td2 := startDaemon(t, strings.Replace(baseConfig, "cpu_jobs = 2", "cpu_jobs = 1", 1))
	hold := td2.submit(td2.source("hold-hang.mkv"), "p1", "")
	td2.waitState(hold, "running", 20*time.Second)
	q := td2.submit(td2.source("queued.mkv"), "p1", "")
	status, body = td2.call("POST", fmt.Sprintf("/v1/jobs/%d/cancel", q), "")
	if status != 200 || !strings.Contains(string(body), `"state": "cancelled"`) {
		t.Errorf("cancel queued: %d %s", status, body)
	}
	td2.call("POST", fmt.Sprintf("/v1/jobs/%d/cancel", hold), "")
}

// TestCrashingWorker: a worker that dies without a result is retried up to
// max_attempts, then the job fails with the exit status and its last words.
func TestCrashingWorker(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, baseConfig)
	id := td.submit(td.source("boom-crash.mkv"), "p1", "")
	j := td.waitState(id, "failed", 20*time.Second)
	if j.Attempts != 2 || !strings.Contains(j.Reason, "worker exited with status 7: fake worker: simulated crash") {
		t.Errorf("crashed job = attempts %d, reason %q", j.Attempts, j.Reason)
	}
	// Even a crash has its resource use recorded.
	var rep struct{ Resources *api.Resources }
	if err := json.Unmarshal(j.Report, &rep); err != nil || rep.Resources == nil || rep.Resources.PeakRSSBytes <= 0 {
		t.Errorf("crashed job's report: %s", j.Report)
	}
	_, m := td.call("GET", "/metrics", "")
	for _, want := range []string{"kiln_worker_crashes_total 2", `kiln_jobs{state="failed"} 1`,
		`kiln_job_run_seconds_count{outcome="requeued"} 1`, `kiln_job_run_seconds_count{outcome="failed"} 1`} {
		if !strings.Contains(string(m), want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}

	// A permanent failure is not retried and is no crash.
	f := td.waitState(td.submit(td.source("bad-fail.mkv"), "p1", ""), "failed", 20*time.Second)
	if f.Attempts != 1 || f.Reason != "no video stream" {
		t.Errorf("failed job = attempts %d, reason %q", f.Attempts, f.Reason)
	}
}

// TestResourceAccounting: the worker's CPU time and peak RSS, from its
// rusage, land in the job's report and in the metrics.
func TestResourceAccounting(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, baseConfig)
	j := td.waitState(td.submit(td.source("measured.mkv"), "p1", ""), "done", 20*time.Second)
	var rep struct {
		JobID     int64          `json:"job_id"`
		Outputs   []any          `json:"outputs"`
		Resources *api.Resources `json:"resources"`
	}
	if err := json.Unmarshal(j.Report, &rep); err != nil {
		t.Fatal(err)
	}
	r := rep.Resources
	if rep.JobID != j.ID || len(rep.Outputs) != 1 {
		t.Errorf("the worker's report did not survive: %s", j.Report)
	}
	// The fake worker spins for 30 ms of wall time; on a loaded machine it
	// gets less CPU than that, but never none. A Go binary's RSS is megabytes.
	if r == nil || r.CPUSeconds < 0.002 || r.CPUSeconds != r.UserSeconds+r.SystemSeconds ||
		r.PeakRSSBytes < 1<<20 || r.PeakRSSBytes > 1<<32 || r.WallSeconds < r.CPUSeconds/2 {
		t.Fatalf("resources = %+v", r)
	}
	_, m := td.call("GET", "/metrics", "")
	var cpu float64
	var rssCount int
	for _, line := range strings.Split(string(m), "\n") {
		fmt.Sscanf(line, "kiln_worker_cpu_seconds_total %g", &cpu)
		fmt.Sscanf(line, "kiln_worker_peak_rss_bytes_count %d", &rssCount)
	}
	if cpu != r.CPUSeconds || rssCount != 1 {
		t.Errorf("metrics: cpu %v (want %v), rss observations %d (want 1)", cpu, r.CPUSeconds, rssCount)
	}
	for _, want := range []string{`kiln_frames_total{backend="cpu"} 100`, "kiln_job_queue_wait_seconds_count 1",
		`kiln_job_run_seconds_count{outcome="done"} 1`, `kiln_jobs{state="done"} 1`, "kiln_nvenc_sessions_in_use 0",
		`kiln_build_info{version="test"} 1`} {
		if !strings.Contains(string(m), want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
}

// TestShutdownLetsRunningJobsFinish: on SIGTERM (the context ending) intake
// stops at once, and a job that finishes within stop_grace is done, not
// re-queued.
func TestShutdownLetsRunningJobsFinish(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, strings.Replace(baseConfig, `stop_grace = "5s"`, `stop_grace = "20s"`, 1))
	id := td.submit(td.source("finish-slow.mkv"), "p1", "")
	td.waitState(id, "running", 20*time.Second)
	d := td.d
	td.cancel()
	select {
	case <-td.done:
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return")
	}
	td.cancel = nil
	j, err := d.store.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != "done" {
		t.Errorf("job after a graceful stop: %s (%s); want done", j.State, j.Reason)
	}
}

// TestShutdownRequeuesAfterGrace: a job still running when stop_grace ends
// is stopped and re-queued for the next start, its staging removed.
func TestShutdownRequeuesAfterGrace(t *testing.T) {
	t.Parallel()
	td := startDaemon(t, strings.Replace(baseConfig, `stop_grace = "5s"`, `stop_grace = "300ms"`, 1))
	id := td.submit(td.source("endless-hang.mkv"), "p1", "")
	td.waitState(id, "running", 20*time.Second)
	stagingDir := filepath.Join(td.root, "state", "out", staging.FolderName)
	waitFor(t, 10*time.Second, "the worker's staging folder", func() bool {
		entries, _ := os.ReadDir(stagingDir)
		return len(entries) == 1
	})
	d := td.d
	start := time.Now()
	td.cancel()
	<-td.done
	td.cancel = nil
	if took := time.Since(start); took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("stop took %s with stop_grace 300ms", took)
	}
	j, err := d.store.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != "queued" || !strings.Contains(j.Reason, "kilnd stopped") {
		t.Errorf("job after the grace ran out: %s (%s); want queued", j.State, j.Reason)
	}
	if entries, _ := os.ReadDir(stagingDir); len(entries) != 0 {
		t.Errorf("staging left: %v", entries)
	}
}

// TestPeakRSSIsTheWorkersOwn: the report's peak_rss_bytes is the worker's
// own high-water mark, not kilnd's. A vfork'ed child's ru_maxrss starts
// from its parent's, so with kilnd the bigger process the rusage figure
// was kilnd's. Here the daemon (this test process) holds 384 MiB and the
// worker about 48 MiB more than a small Go binary.
func TestPeakRSSIsTheWorkersOwn(t *testing.T) {
	big := make([]byte, 384<<20)
	for i := range big {
		big[i] = byte(i) // touched, so it counts in RSS
	}
	td := startDaemon(t, baseConfig)
	j := td.waitState(td.submit(td.source("grow-alloc48.mkv"), "p1", ""), "done", 20*time.Second)
	runtime.KeepAlive(big)
	var rep struct {
		Resources *api.Resources `json:"resources"`
	}
	if err := json.Unmarshal(j.Report, &rep); err != nil || rep.Resources == nil {
		t.Fatalf("report: %v %s", err, j.Report)
	}
	got := rep.Resources.PeakRSSBytes
	if got < 48<<20 || got > 200<<20 {
		t.Errorf("peak_rss_bytes = %d MiB, want the worker's own (48 MiB and a Go binary, under 200 MiB), not kilnd's (over 384 MiB)", got>>20)
	}
}
