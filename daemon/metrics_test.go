package daemon

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"kiln/daemon/store"
)

// checkExposition validates Prometheus text format 0.0.4 as a scraper reads
// it: every sample belongs to a family declared by HELP and TYPE before it,
// names and labels are well formed, values parse, no series repeats, and
// every histogram has cumulative buckets ending in +Inf equal to its count.
// It returns the samples by series and the problems found.
func checkExposition(text string) (map[string]float64, []string) {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	sampleRE := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*\})? (\S+)$`)
	types := map[string]string{}
	helps := map[string]bool{}
	samples := map[string]float64{}
	if !strings.HasSuffix(text, "\n") {
		report("exposition does not end with a newline")
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			f := strings.SplitN(line, " ", 4)
			if len(f) < 4 || f[3] == "" {
				report("line %d: HELP without text: %q", i+1, line)
			}
			helps[f[2]] = true
			continue
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) != 4 || !strings.Contains(" counter gauge histogram summary untyped ", " "+f[3]+" ") {
				report("line %d: bad TYPE: %q", i+1, line)
				continue
			}
			if _, dup := types[f[2]]; dup {
				report("line %d: family %s declared twice", i+1, f[2])
			}
			types[f[2]] = f[3]
			continue
		case strings.HasPrefix(line, "#") || line == "":
			report("line %d: unexpected %q", i+1, line)
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil {
			report("line %d: not a sample: %q", i+1, line)
			continue
		}
		name, value := m[1], m[3]
		family := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base := strings.TrimSuffix(name, suffix); base != name && types[base] == "histogram" {
				family = base
			}
		}
		if types[family] == "" || !helps[family] {
			report("line %d: sample %s before its HELP and TYPE", i+1, name)
		}
		if types[family] == "counter" && !strings.HasSuffix(name, "_total") {
			report("line %d: counter %s does not end in _total", i+1, name)
		}
		v, err := strconv.ParseFloat(strings.Replace(value, "+Inf", "Inf", 1), 64)
		if err != nil {
			report("line %d: value %q: %v", i+1, value, err)
		}
		key := name + m[2]
		if _, dup := samples[key]; dup {
			report("line %d: series %s repeated", i+1, key)
		}
		samples[key] = v
	}
	// Histograms: cumulative buckets, +Inf = count.
	leRE := regexp.MustCompile(`le="([^"]+)"`)
	for key, v := range samples {
		if !strings.Contains(key, `_bucket{`) || !strings.Contains(key, `le="+Inf"`) {
			continue
		}
		series := strings.Replace(leRE.ReplaceAllString(key, ""), "_bucket{", "_count{", 1)
		series = strings.NewReplacer(",}", "}", "{,", "{", ",,", ",").Replace(series)
		series = strings.TrimSuffix(series, "{}")
		count, ok := samples[series]
		if !ok || count != v {
			report("%s = %v, but %s = %v", key, v, series, count)
		}
		prefix := key[:strings.Index(key, `le="`)]
		prev := -1.0
		var bounds []float64
		for k := range samples {
			if strings.HasPrefix(k, prefix) {
				le, _ := strconv.ParseFloat(strings.Replace(leRE.FindStringSubmatch(k)[1], "+Inf", "Inf", 1), 64)
				bounds = append(bounds, le)
			}
		}
		sortFloats(bounds)
		for _, le := range bounds {
			c := samples[prefix+`le="`+formatValue(le)+`"}`]
			if c < prev {
				report("%s: bucket le=%v has %v, less than the one below (%v)", prefix, le, c, prev)
			}
			prev = c
		}
	}
	return samples, problems
}

func sortFloats(v []float64) {
	for i := 1; i < len(v); i++ {
		for k := i; k > 0 && v[k] < v[k-1]; k-- {
			v[k], v[k-1] = v[k-1], v[k]
		}
	}
}

// TestMetricsExposition renders metrics with every kind of value and checks
// the text against the format, and the numbers against what was recorded.
func TestMetricsExposition(t *testing.T) {
	m := newMetrics()
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
	text := string(m.write(scrape{
		version: "v1.2", started: time.Unix(1700000000, 500_000_000),
		jobs:       map[store.State]int{store.Queued: 3, store.Running: 1},
		runningFPS: map[string]float64{"cpu": 48.5},
		watches:    []string{"news", "idle"},
		nodesUp:    2, nodesDown: 1,
	}))
	s, problems := checkExposition(text)
	for _, p := range problems {
		t.Error(p)
	}

	want := map[string]float64{
		`kiln_build_info{version="v1.2"}`:                            1,
		`process_start_time_seconds`:                                 1700000000.5,
		`kiln_jobs{state="queued"}`:                                  3,
		`kiln_nodes{state="up"}`:                                     2,
		`kiln_nodes{state="down"}`:                                   1,
		`kiln_store_errors_total{operation="claim"}`:                 2,
		`kiln_store_errors_total{operation="heartbeat"}`:             0,
		`kiln_lease_expired_requeues_total`:                          1,
		`kiln_jobs{state="done"}`:                                    0,
		`kiln_job_queue_wait_seconds_bucket{le="5"}`:                 1,
		`kiln_job_queue_wait_seconds_bucket{le="60"}`:                1,
		`kiln_job_queue_wait_seconds_bucket{le="300"}`:               2,
		`kiln_job_queue_wait_seconds_bucket{le="+Inf"}`:              3,
		`kiln_job_queue_wait_seconds_sum`:                            3 + 90 + 72000,
		`kiln_job_run_seconds_count{outcome="done"}`:                 1,
		`kiln_job_run_seconds_count{outcome="requeued"}`:             0,
		`kiln_frames_total{backend="cpu"}`:                           1000,
		`kiln_frames_total{backend="cuda"}`:                          250,
		`kiln_frames_per_second{backend="cpu"}`:                      48.5,
		`kiln_frames_per_second{backend="cuda"}`:                     0,
		`kiln_nvenc_sessions_in_use`:                                 0,
		`kiln_worker_crashes_total`:                                  1,
		`kiln_worker_cpu_seconds_total`:                              1.5,
		`kiln_worker_peak_rss_bytes_bucket{le="268435456"}`:          0,
		`kiln_worker_peak_rss_bytes_bucket{le="536870912"}`:          1,
		`kiln_watch_events_total{watch="odd \"name\"\\with"}`:        1,
		`kiln_watch_events_total{watch="idle"}`:                      0,
		`kiln_watch_files_taken_total{watch="news"}`:                 1,
		`kiln_config_reloads_total{result="rejected"}`:               1,
		`kiln_config_last_reload_successful`:                         0,
		`kiln_job_run_seconds_bucket{outcome="done",le="60"}`:        1,
		`kiln_job_run_seconds_bucket{outcome="cancelled",le="+Inf"}`: 0,
	}
	for k, v := range want {
		got, ok := s[k]
		if !ok {
			t.Errorf("no series %s", k)
		} else if math.Abs(got-v) > 1e-9 {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", text)
	}
}

// TestMetricsCheckerCatchesMistakes: the format check above must be able to
// fail, or the test using it proves nothing.
func TestMetricsCheckerCatchesMistakes(t *testing.T) {
	bad := []string{
		"kiln_x 1\n", // no HELP/TYPE
		"# HELP a_total x\n# TYPE a_total counter\na_total{l=\"v} 1\n",                                        // broken label
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", // not cumulative
		"# HELP h x\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",                       // +Inf != count
		"# HELP c x\n# TYPE c counter\nc 1\n",                                                                 // counter without _total
		"# HELP g x\n# TYPE g gauge\ng 1\ng 2\n",                                                              // repeated series
	}
	for i, text := range bad {
		if _, problems := checkExposition(text); len(problems) == 0 {
			t.Errorf("case %d passed the check:\n%s", i, text)
		}
	}
}
