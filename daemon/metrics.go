package daemon

import (
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"kiln/daemon/store"
)

// metrics holds what GET /metrics serves, on prometheus/client_golang.
// What happened in the past (counters, histograms) is accumulated in the
// daemon's own registry, together with the library's process and Go
// collectors; what describes the present (jobs by state, running fps,
// nodes) is read when scraped and put in a registry made for that one
// scrape (see handler). The registry is the daemon's, not the library's
// global one, so that two daemons in one test binary never share series.
type metrics struct {
	reg *prometheus.Registry

	buildInfo   *prometheus.GaugeVec
	queueWait   prometheus.Histogram
	runTime     *prometheus.HistogramVec // by outcome: done, failed, cancelled, requeued
	frames      *prometheus.CounterVec   // by backend
	crashes     prometheus.Counter
	cpuSeconds  prometheus.Counter
	peakRSS     prometheus.Histogram
	watchEvents *prometheus.CounterVec // by watch
	filesTaken  *prometheus.CounterVec // by watch
	reloads     *prometheus.CounterVec // by result: ok, rejected
	lastReload  prometheus.Gauge       // 1 when the last reload was taken
	storeErrors *prometheus.CounterVec // by operation: claim, heartbeat, finish
	reaped      prometheus.Counter     // jobs this node re-queued from dead nodes

	mu       sync.Mutex
	backends map[string]bool // every backend that has counted frames, for kiln_frames_per_second
}

var (
	queueWaitBuckets = []float64{1, 5, 15, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600}
	runTimeBuckets   = []float64{5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 2 * 3600, 4 * 3600}
	peakRSSBuckets   = []float64{64 << 20, 128 << 20, 256 << 20, 512 << 20, 1 << 30, 2 << 30, 4 << 30, 8 << 30, 16 << 30}
	// runOutcomes (and the other label values made at start) are listed
	// even before they first happen, so that a rate over them is defined
	// from the start.
	runOutcomes = []string{"done", "failed", "cancelled", "requeued"}
)

// newMetrics makes the daemon's registry; version is what kiln_build_info
// says runs.
func newMetrics(version string) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		buildInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kiln_build_info",
			Help: "Always 1; the version label says which kilnd runs."}, []string{"version"}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kiln_job_queue_wait_seconds",
			Help: "Time from a job's queueing to its start.", Buckets: queueWaitBuckets}),
		runTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kiln_job_run_seconds",
			Help: "Time a worker ran, by how its run ended.", Buckets: runTimeBuckets}, []string{"outcome"}),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiln_frames_total",
			Help: "Video frames processed by workers, by backend."}, []string{"backend"}),
		crashes: prometheus.NewCounter(prometheus.CounterOpts{Name: "kiln_worker_crashes_total",
			Help: "Workers that ended without a result (signal or exit status)."}),
		cpuSeconds: prometheus.NewCounter(prometheus.CounterOpts{Name: "kiln_worker_cpu_seconds_total",
			Help: "CPU time (user and system) used by finished workers."}),
		peakRSS: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kiln_worker_peak_rss_bytes",
			Help: "Peak resident memory of each finished worker.", Buckets: peakRSSBuckets}),
		watchEvents: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiln_watch_events_total",
			Help: "Filesystem events seen in each watch folder's inbox."}, []string{"watch"}),
		filesTaken: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiln_watch_files_taken_total",
			Help: "Files taken in from each watch folder."}, []string{"watch"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiln_config_reloads_total",
			Help: "Config reloads (SIGHUP or POST /v1/reload), by result."}, []string{"result"}),
		lastReload: prometheus.NewGauge(prometheus.GaugeOpts{Name: "kiln_config_last_reload_successful",
			Help: "0 while the last reload was rejected and the older config runs."}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiln_store_errors_total",
			Help: "Job store operations that failed, by operation: a fleet's PostgreSQL unreachable, a disk error."},
			[]string{"operation"}),
		reaped: prometheus.NewCounter(prometheus.CounterOpts{Name: "kiln_lease_expired_requeues_total",
			Help: "Jobs this node re-queued because the node running them stopped renewing its lease."}),
		backends: map[string]bool{"cpu": true},
	}
	m.reg.MustRegister(
		// process_start_time_seconds among them: when kilnd started.
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
		m.buildInfo, m.queueWait, m.runTime, m.frames, m.crashes, m.cpuSeconds, m.peakRSS,
		m.watchEvents, m.filesTaken, m.reloads, m.lastReload, m.storeErrors, m.reaped,
	)
	m.buildInfo.WithLabelValues(version).Set(1)
	for _, o := range runOutcomes {
		m.runTime.WithLabelValues(o)
	}
	m.frames.WithLabelValues("cpu")
	for _, r := range []string{"ok", "rejected"} {
		m.reloads.WithLabelValues(r)
	}
	m.lastReload.Set(1)
	for _, op := range []string{"claim", "heartbeat", "finish"} {
		m.storeErrors.WithLabelValues(op)
	}
	return m
}

func (m *metrics) jobClaimed(waited time.Duration) {
	m.queueWait.Observe(waited.Seconds())
}

func (m *metrics) jobEnded(outcome string, ran time.Duration) {
	m.runTime.WithLabelValues(outcome).Observe(ran.Seconds())
}

func (m *metrics) addFrames(backend string, n int64) {
	m.mu.Lock()
	m.backends[backend] = true
	m.mu.Unlock()
	m.frames.WithLabelValues(backend).Add(float64(n))
}

func (m *metrics) workerCrashed() {
	m.crashes.Inc()
}

func (m *metrics) workerUsed(cpuSeconds float64, peakRSS int64) {
	m.cpuSeconds.Add(cpuSeconds)
	m.peakRSS.Observe(float64(peakRSS))
}

// watchEvent and fileTaken list the watch in both of its families, so that
// a watch that has seen events but taken no file shows a 0 there.
func (m *metrics) watchEvent(watch string) {
	m.watchEvents.WithLabelValues(watch).Inc()
	m.filesTaken.WithLabelValues(watch)
}

func (m *metrics) fileTaken(watch string) {
	m.watchEvents.WithLabelValues(watch)
	m.filesTaken.WithLabelValues(watch).Inc()
}

// storeFailed counts a job store operation that failed (claim, heartbeat):
// in a fleet, the sign that PostgreSQL is unreachable.
func (m *metrics) storeFailed(op string) {
	m.storeErrors.WithLabelValues(op).Inc()
}

// leaseExpired counts a job this node re-queued because its node died.
func (m *metrics) leaseExpired() {
	m.reaped.Inc()
}

func (m *metrics) reloaded(ok bool) {
	if ok {
		m.reloads.WithLabelValues("ok").Inc()
		m.lastReload.Set(1)
	} else {
		m.reloads.WithLabelValues("rejected").Inc()
		m.lastReload.Set(0)
	}
}

// scrape is what the daemon knows about the present when /metrics is read.
type scrape struct {
	jobs          map[store.State]int
	runningFPS    map[string]float64 // by backend
	nvencSessions int
	watches       []string // configured now, listed even with no events yet
	nodesUp       int      // the fleet's nodes with a live lease (this one among them)
	nodesDown     int
}

// gatherer is the daemon's registry plus one made for this scrape, which
// holds the gauges of the present s.
func (m *metrics) gatherer(s scrape) prometheus.Gatherer {
	now := prometheus.NewRegistry()
	jobs := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kiln_jobs",
		Help: "Jobs in the store, by state."}, []string{"state"})
	fps := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kiln_frames_per_second",
		Help: "Frames per second of the running jobs together, by backend."}, []string{"backend"})
	sessions := prometheus.NewGauge(prometheus.GaugeOpts{Name: "kiln_nvenc_sessions_in_use",
		Help: "NVENC encoder sessions held by running jobs."})
	nodes := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "kiln_nodes",
		Help: "Nodes in the job store's registry, by whether their lease is live; 1 up on a single appliance."},
		[]string{"state"})
	now.MustRegister(jobs, fps, sessions, nodes)

	for _, st := range store.States {
		jobs.WithLabelValues(string(st)).Set(float64(s.jobs[st]))
	}
	// Every backend that counted frames has a speed, 0 while idle, and
	// every backend with a speed has a frame count.
	m.mu.Lock()
	for b := range s.runningFPS {
		m.backends[b] = true
	}
	for b := range m.backends {
		fps.WithLabelValues(b).Set(s.runningFPS[b])
		m.frames.WithLabelValues(b)
	}
	m.mu.Unlock()
	sessions.Set(float64(s.nvencSessions))
	nodes.WithLabelValues("up").Set(float64(s.nodesUp))
	nodes.WithLabelValues("down").Set(float64(s.nodesDown))
	for _, w := range s.watches {
		m.watchEvents.WithLabelValues(w)
		m.filesTaken.WithLabelValues(w)
	}
	return prometheus.Gatherers{m.reg, now}
}

// handler serves one scrape of the present s, in the format the scraper
// asks for (the text format by default).
func (m *metrics) handler(s scrape) http.Handler {
	return promhttp.HandlerFor(m.gatherer(s), promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})
}
