package daemon

import (
	"bytes"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"kiln/daemon/store"
)

// kilnFamilies are the families /metrics served when it was written by
// hand, before client_golang: their names, types, label names and help are
// what dashboards, alerts and the README rely on, and must stay.
var kilnFamilies = []struct {
	name, typ string
	labels    []string
	help      string
}{
	{"kiln_build_info", "GAUGE", []string{"version"}, "Always 1; the version label says which kilnd runs."},
	{"process_start_time_seconds", "GAUGE", nil, "Start time of the process since unix epoch in seconds."},
	{"kiln_jobs", "GAUGE", []string{"state"}, "Jobs in the store, by state."},
	{"kiln_job_queue_wait_seconds", "HISTOGRAM", nil, "Time from a job's queueing to its start."},
	{"kiln_job_run_seconds", "HISTOGRAM", []string{"outcome"}, "Time a worker ran, by how its run ended."},
	{"kiln_frames_total", "COUNTER", []string{"backend"}, "Video frames processed by workers, by backend."},
	{"kiln_frames_per_second", "GAUGE", []string{"backend"}, "Frames per second of the running jobs together, by backend."},
	{"kiln_nvenc_sessions_in_use", "GAUGE", nil, "NVENC encoder sessions held by running jobs."},
	{"kiln_nodes", "GAUGE", []string{"state"}, "Nodes in the job store's registry, by whether their lease is live; 1 up on a single appliance."},
	{"kiln_store_errors_total", "COUNTER", []string{"operation"}, "Job store operations that failed, by operation: a fleet's PostgreSQL unreachable, a disk error."},
	{"kiln_lease_expired_requeues_total", "COUNTER", nil, "Jobs this node re-queued because the node running them stopped renewing its lease."},
	{"kiln_worker_crashes_total", "COUNTER", nil, "Workers that ended without a result (signal or exit status)."},
	{"kiln_worker_cpu_seconds_total", "COUNTER", nil, "CPU time (user and system) used by finished workers."},
	{"kiln_worker_peak_rss_bytes", "HISTOGRAM", nil, "Peak resident memory of each finished worker."},
	{"kiln_watch_events_total", "COUNTER", []string{"watch"}, "Filesystem events seen in each watch folder's inbox."},
	{"kiln_watch_files_taken_total", "COUNTER", []string{"watch"}, "Files taken in from each watch folder."},
	{"kiln_config_reloads_total", "COUNTER", []string{"result"}, "Config reloads (SIGHUP or POST /v1/reload), by result."},
	{"kiln_config_last_reload_successful", "GAUGE", nil, "0 while the last reload was rejected and the older config runs."},
}

// recordedMetrics is a metrics value with every kind of value recorded,
// and the present a scrape of it sees.
func recordedMetrics() (*metrics, scrape) {
	m := newMetrics("v1.2")
	m.jobClaimed(3 * time.Second)
	m.jobClaimed(90 * time.Second)
	m.jobClaimed(20 * time.Hour) // beyond the last bucket
	m.jobEnded("done", 42*time.Second)
	m.addFrames("cpu", 1000)
	m.addFrames("cuda", 250)
	m.workerCrashed()
	m.workerUsed(1.5, 300<<20)
	m.watchEvent(`odd "name"\with`)
	m.fileTaken("news")
	m.reloaded(false)
	m.storeFailed("claim")
	m.storeFailed("claim")
	m.leaseExpired()
	return m, scrape{
		jobs:       map[store.State]int{store.Queued: 3, store.Running: 1},
		runningFPS: map[string]float64{"cpu": 48.5},
		watches:    []string{"news", "idle"},
		nodesUp:    2, nodesDown: 1,
	}
}

// scrapeText serves one scrape as a Prometheus server asks for it, and
// returns the exposition text.
func scrapeText(t *testing.T, m *metrics, s scrape) string {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/metrics", nil)
	m.handler(s).ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: %d %q\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	return rec.Body.String()
}

// parseExposition reads the text format into families by name.
func parseExposition(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	families, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the exposition does not parse: %v\n%s", err, text)
	}
	return families
}

// seriesValue is the value of the series of family f whose labels are
// exactly ls (name, value pairs); for a histogram, its count, or with a
// "le" pair, that bucket's cumulative count.
func seriesValue(f *dto.MetricFamily, ls ...string) (float64, bool) {
	le := math.NaN()
	var want []string
	for i := 0; i+1 < len(ls); i += 2 {
		if ls[i] == "le" {
			le = parseLe(ls[i+1])
			continue
		}
		want = append(want, ls[i]+"="+ls[i+1])
	}
	for _, m := range f.Metric {
		var got []string
		for _, l := range m.Label {
			got = append(got, l.GetName()+"="+l.GetValue())
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil && math.IsNaN(le):
			return float64(m.Histogram.GetSampleCount()), true
		case m.Histogram != nil && math.IsInf(le, 1):
			return float64(m.Histogram.GetSampleCount()), true
		case m.Histogram != nil:
			for _, b := range m.Histogram.Bucket {
				if b.GetUpperBound() == le {
					return float64(b.GetCumulativeCount()), true
				}
			}
		}
	}
	return 0, false
}

func parseLe(s string) float64 {
	v, err := strconv.ParseFloat(strings.TrimPrefix(s, "+"), 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// TestMetricsKeepNames: every family of the hand-written exposition is
// still served with its type, labels and help, and the library's process_*
// and go_* families are there beside them.
func TestMetricsKeepNames(t *testing.T) {
	m, s := recordedMetrics()
	families := parseExposition(t, scrapeText(t, m, s))
	for _, want := range kilnFamilies {
		f, ok := families[want.name]
		if !ok {
			t.Errorf("family %s is gone", want.name)
			continue
		}
		if f.GetType().String() != want.typ {
			t.Errorf("%s is a %s, was a %s", want.name, f.GetType(), want.typ)
		}
		if f.GetHelp() != want.help {
			t.Errorf("%s help %q, was %q", want.name, f.GetHelp(), want.help)
		}
		for _, metric := range f.Metric {
			var names []string
			for _, l := range metric.Label {
				names = append(names, l.GetName())
			}
			if !slices.Equal(names, want.labels) {
				t.Errorf("%s has labels %v, had %v", want.name, names, want.labels)
				break
			}
		}
	}
	for _, name := range []string{"process_cpu_seconds_total", "process_resident_memory_bytes",
		"process_open_fds", "go_goroutines", "go_memstats_heap_alloc_bytes", "go_gc_duration_seconds", "go_info"} {
		if _, ok := families[name]; !ok {
			t.Errorf("no %s: the process and Go collectors are not registered", name)
		}
	}
}

// TestMetricsValues: the numbers served are the ones recorded.
func TestMetricsValues(t *testing.T) {
	m, s := recordedMetrics()
	text := scrapeText(t, m, s)
	families := parseExposition(t, text)
	want := []struct {
		family string
		labels []string
		value  float64
	}{
		{"kiln_build_info", []string{"version", "v1.2"}, 1},
		{"kiln_jobs", []string{"state", "queued"}, 3},
		{"kiln_jobs", []string{"state", "done"}, 0},
		{"kiln_nodes", []string{"state", "up"}, 2},
		{"kiln_nodes", []string{"state", "down"}, 1},
		{"kiln_store_errors_total", []string{"operation", "claim"}, 2},
		{"kiln_store_errors_total", []string{"operation", "heartbeat"}, 0},
		{"kiln_store_errors_total", []string{"operation", "finish"}, 0},
		{"kiln_lease_expired_requeues_total", nil, 1},
		{"kiln_job_queue_wait_seconds", []string{"le", "5"}, 1},
		{"kiln_job_queue_wait_seconds", []string{"le", "60"}, 1},
		{"kiln_job_queue_wait_seconds", []string{"le", "300"}, 2},
		{"kiln_job_queue_wait_seconds", []string{"le", "+Inf"}, 3},
		{"kiln_job_run_seconds", []string{"outcome", "done"}, 1},
		{"kiln_job_run_seconds", []string{"outcome", "requeued"}, 0},
		{"kiln_job_run_seconds", []string{"outcome", "done", "le", "60"}, 1},
		{"kiln_job_run_seconds", []string{"outcome", "cancelled", "le", "+Inf"}, 0},
		{"kiln_frames_total", []string{"backend", "cpu"}, 1000},
		{"kiln_frames_total", []string{"backend", "cuda"}, 250},
		{"kiln_frames_per_second", []string{"backend", "cpu"}, 48.5},
		{"kiln_frames_per_second", []string{"backend", "cuda"}, 0},
		{"kiln_nvenc_sessions_in_use", nil, 0},
		{"kiln_worker_crashes_total", nil, 1},
		{"kiln_worker_cpu_seconds_total", nil, 1.5},
		{"kiln_worker_peak_rss_bytes", []string{"le", "268435456"}, 0},
		{"kiln_worker_peak_rss_bytes", []string{"le", "536870912"}, 1},
		{"kiln_watch_events_total", []string{"watch", `odd "name"\with`}, 1},
		{"kiln_watch_events_total", []string{"watch", "idle"}, 0},
		{"kiln_watch_events_total", []string{"watch", "news"}, 0},
		{"kiln_watch_files_taken_total", []string{"watch", "news"}, 1},
		{"kiln_watch_files_taken_total", []string{"watch", `odd "name"\with`}, 0},
		{"kiln_config_reloads_total", []string{"result", "rejected"}, 1},
		{"kiln_config_reloads_total", []string{"result", "ok"}, 0},
		{"kiln_config_last_reload_successful", nil, 0},
	}
	for _, w := range want {
		f, ok := families[w.family]
		if !ok {
			t.Errorf("no family %s", w.family)
			continue
		}
		got, ok := seriesValue(f, w.labels...)
		if !ok {
			t.Errorf("no series %s%v", w.family, w.labels)
		} else if math.Abs(got-w.value) > 1e-9 {
			t.Errorf("%s%v = %v, want %v", w.family, w.labels, got, w.value)
		}
	}
	if sum := families["kiln_job_queue_wait_seconds"].Metric[0].Histogram.GetSampleSum(); sum != 3+90+72000 {
		t.Errorf("queue wait sum = %v", sum)
	}
	start := families["process_start_time_seconds"].Metric[0].Gauge.GetValue()
	if age := time.Since(time.Unix(int64(start), 0)); age < 0 || age > time.Hour {
		t.Errorf("process_start_time_seconds = %v: not this process's start", start)
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", text)
	}
}

// TestMetricsLint: the exposition passes the client library's linter and
// Prometheus's own promtool, as a scraper and a reviewer would check it.
func TestMetricsLint(t *testing.T) {
	m, s := recordedMetrics()
	problems, err := testutil.GatherAndLint(m.gatherer(s))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("testutil lint: %s: %s", p.Metric, p.Text)
	}
	out, err := promtoolCheck(t, scrapeText(t, m, s))
	if err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestMetricsLintCatchesMistakes: both linters must be able to fail, or the
// test above proves nothing. A counter without _total and a HELP-less
// family are what promtool reports.
func TestMetricsLintCatchesMistakes(t *testing.T) {
	bad := "# HELP kiln_things Things.\n# TYPE kiln_things counter\nkiln_things 1\n# TYPE kiln_nohelp gauge\nkiln_nohelp 1\n"
	if out, err := promtoolCheck(t, bad); err == nil {
		t.Errorf("promtool passed a counter without _total and a family without help:\n%s", out)
	}
	families := parseExposition(t, bad)
	var list []*dto.MetricFamily
	for _, f := range families {
		list = append(list, f)
	}
	problems, err := testutil.GatherAndLint(gathered(list))
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) == 0 {
		t.Error("testutil lint passed a counter without _total")
	}
}

type gathered []*dto.MetricFamily

func (g gathered) Gather() ([]*dto.MetricFamily, error) { return g, nil }

// promtoolCheck runs `promtool check metrics` on text. promtool comes with
// Debian's prometheus package (scripts/setup-debian.sh installs it); its
// absence fails the test, since a skipped lint checks nothing.
func promtoolCheck(t *testing.T, text string) (string, error) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (%v): install the Debian package prometheus (scripts/setup-debian.sh does)", err)
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = strings.NewReader(text)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

// BenchmarkMetricsScrape is one GET /metrics of a daemon with a few of
// everything recorded: the per-scrape registry and the process and Go
// collectors included.
func BenchmarkMetricsScrape(b *testing.B) {
	m, s := recordedMetrics()
	req := httptest.NewRequest("GET", "/metrics", nil)
	for b.Loop() {
		rec := httptest.NewRecorder()
		m.handler(s).ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code)
		}
	}
}
