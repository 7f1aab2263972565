package daemon

import (
	"bytes"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"kiln/daemon/store"
)

// metrics holds the counters and histograms behind GET /metrics. Gauges that
// describe the present (jobs by state, running fps) are read when scraped;
// only what happened in the past is accumulated here.
//
// The Prometheus text format is written by hand: it is a few dozen lines,
// and the client library would be the daemon's largest dependency.
type metrics struct {
	mu          sync.Mutex
	queueWait   *histogram
	runTime     map[string]*histogram // by outcome: done, failed, cancelled, requeued
	frames      map[string]float64    // by backend
	crashes     float64
	cpuSeconds  float64
	peakRSS     *histogram
	watchEvents map[string]float64 // by watch
	filesTaken  map[string]float64 // by watch
	reloads     map[string]float64 // by result: ok, rejected
	lastReload  float64            // 1 when the last reload was taken
	storeErrors map[string]float64 // by operation: claim, heartbeat, finish
	reaped      float64            // jobs this node re-queued from dead nodes
}

var (
	queueWaitBuckets = []float64{1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600}
	runTimeBuckets   = []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 2 * 3600, 4 * 3600}
	peakRSSBuckets   = []float64{64 << 20, 128 << 20, 256 << 20, 512 << 20, 1 << 30, 2 << 30, 4 << 30, 8 << 30, 16 << 30}
	// runOutcomes are listed even before they first happen, so that a rate
	// over them is defined from the start.
	runOutcomes = []string{"done", "failed", "cancelled", "requeued"}
)

func newMetrics() *metrics {
	m := &metrics{
		queueWait:   newHistogram(queueWaitBuckets),
		runTime:     map[string]*histogram{},
		frames:      map[string]float64{},
		peakRSS:     newHistogram(peakRSSBuckets),
		watchEvents: map[string]float64{},
		filesTaken:  map[string]float64{},
		reloads:     map[string]float64{"ok": 0, "rejected": 0},
		lastReload:  1,
		storeErrors: map[string]float64{"claim": 0, "heartbeat": 0, "finish": 0},
	}
	for _, o := range runOutcomes {
		m.runTime[o] = newHistogram(runTimeBuckets)
	}
	return m
}

func (m *metrics) jobClaimed(waited time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.queueWait.observe(waited.Seconds())
}

func (m *metrics) jobEnded(outcome string, ran time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.runTime[outcome]
	if h == nil {
		h = newHistogram(runTimeBuckets)
		m.runTime[outcome] = h
	}
	h.observe(ran.Seconds())
}

func (m *metrics) addFrames(backend string, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.frames[backend] += float64(n)
}

func (m *metrics) workerCrashed() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.crashes++
}

func (m *metrics) workerUsed(cpuSeconds float64, peakRSS int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cpuSeconds += cpuSeconds
	m.peakRSS.observe(float64(peakRSS))
}

func (m *metrics) watchEvent(watch string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.watchEvents[watch]++
}

func (m *metrics) fileTaken(watch string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.filesTaken[watch]++
}

// storeFailed counts a job store operation that failed (claim, heartbeat):
// in a fleet, the sign that PostgreSQL is unreachable.
func (m *metrics) storeFailed(op string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.storeErrors[op]++
}

// leaseExpired counts a job this node re-queued because its node died.
func (m *metrics) leaseExpired() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reaped++
}

func (m *metrics) reloaded(ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ok {
		m.reloads["ok"]++
		m.lastReload = 1
	} else {
		m.reloads["rejected"]++
		m.lastReload = 0
	}
}

// scrape is what the daemon knows about the present when /metrics is read.
type scrape struct {
	version       string
	started       time.Time
	jobs          map[store.State]int
	runningFPS    map[string]float64 // by backend
	nvencSessions int
	watches       []string // configured now, listed even with no events yet
	nodesUp       int      // the fleet's nodes with a live lease (this one among them)
	nodesDown     int
}

// write renders the metrics in the Prometheus text format, version 0.0.4.
func (m *metrics) write(s scrape) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	var w promWriter

	w.family("kiln_build_info", "gauge", "Always 1; the version label says which kilnd runs.")
	w.sample("kiln_build_info", labels{"version", s.version}, 1)
	w.family("process_start_time_seconds", "gauge", "When kilnd started, in seconds since the Unix epoch.")
	w.sample("process_start_time_seconds", nil, float64(s.started.UnixNano())/1e9)

	w.family("kiln_jobs", "gauge", "Jobs in the store, by state.")
	for _, st := range store.States {
		w.sample("kiln_jobs", labels{"state", string(st)}, float64(s.jobs[st]))
	}

	w.family("kiln_job_queue_wait_seconds", "histogram", "Time from a job's queueing to its start.")
	w.histogram("kiln_job_queue_wait_seconds", nil, m.queueWait)
	w.family("kiln_job_run_seconds", "histogram", "Time a worker ran, by how its run ended.")
	for _, o := range slices.Sorted(maps.Keys(m.runTime)) {
		w.histogram("kiln_job_run_seconds", labels{"outcome", o}, m.runTime[o])
	}

	frames := mergeKeys(m.frames, s.runningFPS, "cpu")
	w.family("kiln_frames_total", "counter", "Video frames processed by workers, by backend.")
	for _, b := range frames {
		w.sample("kiln_frames_total", labels{"backend", b}, m.frames[b])
	}
	w.family("kiln_frames_per_second", "gauge", "Frames per second of the running jobs together, by backend.")
	for _, b := range frames {
		w.sample("kiln_frames_per_second", labels{"backend", b}, s.runningFPS[b])
	}
	w.family("kiln_nvenc_sessions_in_use", "gauge", "NVENC encoder sessions held by running jobs.")
	w.sample("kiln_nvenc_sessions_in_use", nil, float64(s.nvencSessions))

	w.family("kiln_nodes", "gauge", "Nodes in the job store's registry, by whether their lease is live; 1 up on a single appliance.")
	w.sample("kiln_nodes", labels{"state", "up"}, float64(s.nodesUp))
	w.sample("kiln_nodes", labels{"state", "down"}, float64(s.nodesDown))
	w.family("kiln_store_errors_total", "counter", "Job store operations that failed, by operation: a fleet's PostgreSQL unreachable, a disk error.")
	for _, op := range slices.Sorted(maps.Keys(m.storeErrors)) {
		w.sample("kiln_store_errors_total", labels{"operation", op}, m.storeErrors[op])
	}
	w.family("kiln_lease_expired_requeues_total", "counter", "Jobs this node re-queued because the node running them stopped renewing its lease.")
	w.sample("kiln_lease_expired_requeues_total", nil, m.reaped)

	w.family("kiln_worker_crashes_total", "counter", "Workers that ended without a result (signal or exit status).")
	w.sample("kiln_worker_crashes_total", nil, m.crashes)
	w.family("kiln_worker_cpu_seconds_total", "counter", "CPU time (user and system) used by finished workers.")
	w.sample("kiln_worker_cpu_seconds_total", nil, m.cpuSeconds)
	w.family("kiln_worker_peak_rss_bytes", "histogram", "Peak resident memory of each finished worker.")
	w.histogram("kiln_worker_peak_rss_bytes", nil, m.peakRSS)

	watches := mergeKeys(m.watchEvents, nil, s.watches...)
	watches = mergeKeys(m.filesTaken, nil, watches...)
	w.family("kiln_watch_events_total", "counter", "Filesystem events seen in each watch folder's inbox.")
	for _, n := range watches {
		w.sample("kiln_watch_events_total", labels{"watch", n}, m.watchEvents[n])
	}
	w.family("kiln_watch_files_taken_total", "counter", "Files taken in from each watch folder.")
	for _, n := range watches {
		w.sample("kiln_watch_files_taken_total", labels{"watch", n}, m.filesTaken[n])
	}

	w.family("kiln_config_reloads_total", "counter", "Config reloads (SIGHUP or POST /v1/reload), by result.")
	for _, r := range slices.Sorted(maps.Keys(m.reloads)) {
		w.sample("kiln_config_reloads_total", labels{"result", r}, m.reloads[r])
	}
	w.family("kiln_config_last_reload_successful", "gauge", "0 while the last reload was rejected and the older config runs.")
	w.sample("kiln_config_last_reload_successful", nil, m.lastReload)
	return w.b.Bytes()
}

// histogram counts observations into fixed buckets.
type histogram struct {
	bounds []float64 // upper bounds, ascending; +Inf is implicit
	counts []uint64  // per bucket, not cumulative; one more than bounds
	sum    float64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // the first bound >= v: le is inclusive
	h.counts[i]++
	h.sum += v
}

// labels are name, value pairs.
type labels []string

type promWriter struct{ b bytes.Buffer }

func (w *promWriter) family(name, typ, help string) {
	w.b.WriteString("# HELP " + name + " " + escapeHelp(help) + "\n")
	w.b.WriteString("# TYPE " + name + " " + typ + "\n")
}

func (w *promWriter) sample(name string, ls labels, v float64) {
	w.b.WriteString(name)
	if len(ls) > 0 {
		w.b.WriteByte('{')
		for i := 0; i+1 < len(ls); i += 2 {
			if i > 0 {
				w.b.WriteByte(',')
			}
			w.b.WriteString(ls[i] + `="` + escapeLabel(ls[i+1]) + `"`)
		}
		w.b.WriteByte('}')
	}
	w.b.WriteString(" " + formatValue(v) + "\n")
}

func (w *promWriter) histogram(name string, ls labels, h *histogram) {
	var cum uint64
	for i, c := range h.counts {
		cum += c
		le := math.Inf(1)
		if i < len(h.bounds) {
			le = h.bounds[i]
		}
		w.sample(name+"_bucket", append(append(labels{}, ls...), "le", formatValue(le)), float64(cum))
	}
	w.sample(name+"_sum", ls, h.sum)
	w.sample(name+"_count", ls, float64(cum))
}

func formatValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	// Whole numbers (counts, bytes, bucket bounds) are written out in
	// full, so that le="268435456" reads as the byte count it is.
	if v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }

// mergeKeys lists, sorted and once each, the keys of a and b and extra.
func mergeKeys(a, b map[string]float64, extra ...string) []string {
	set := map[string]bool{}
	for k := range a {
		set[k] = true
	}
	for k := range b {
		set[k] = true
	}
	for _, k := range extra {
		set[k] = true
	}
	return slices.Sorted(maps.Keys(set))
}
