package daemon

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"kiln/api"
	"kiln/config"
	"kiln/daemon/daemontest"
	"kiln/job"
)

// nvencConfig runs two GPU jobs at once under a limit of 3 NVENC sessions.
const nvencConfig = `
[daemon]
state_dir = "{{root}}/state"
socket = "{{root}}/kiln.sock"
cpu_jobs = 1
gpu_jobs = 2
nvenc_sessions = 3
rescan = "1s"
stop_grace = "5s"
socket_group = ""
submit_roots = ["{{root}}/sources"]

[profile.web]
kind = "abr"
video_bitrate = "2400k"
`

// gpuWorkerScript writes a stand-in kiln-gpu-worker whose probe finds one
// GPU named gpuName with H.264 NVENC, and whose jobs run as the fake
// worker does.
func gpuWorkerScript(t *testing.T, root, gpuName string) string {
	t.Helper()
	exe := daemontest.WorkerCmd()
	worker := filepath.Join(root, "kiln-gpu-worker")
	script := `#!/bin/sh
case "$1" in
probe) echo '{"devices":[{"index":0,"name":"` + gpuName + `","compute_capability":"8.6","memory_bytes":10737418240}],"cuda_available":true,"nvenc":{"h264":{"available":true},"hevc":{"available":true}},"nvdec":{"available":true}}' ;;
worker) exec '` + exe[0] + `' ` + exe[1] + ` ;;
*) exit 2 ;;
esac
`
	if err := os.WriteFile(worker, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return worker
}

// TestNVENCSessionsPerRendition: each ABR rung holds one NVENC session.
// Under a limit of 3, the first 4-rung job gets 3 and the second, running
// beside it, none, with the reason in its report; the sessions come back
// when the first ends, and the next job gets them. The gauge and
// /v1/hardware count the same sessions.
func TestNVENCSessionsPerRendition(t *testing.T) {
	t.Parallel()
	td := initDaemon(t, nvencConfig)
	td.d.GPUWorker = gpuWorkerScript(t, td.root, "NVIDIA GeForce RTX 3080")
	td.d.probeHardware(context.Background())
	td.run()
	waitFor(t, 10*time.Second, "the API", func() bool { status, _ := td.call("GET", "/v1/health", ""); return status == 200 })

	var h api.Hardware
	td.getJSON("/v1/hardware", &h)
	if h.NVENCSessionLimit != 3 || h.NVENCSessionLimitReason != "nvenc_sessions = 3" || h.NVENCSessions != 0 {
		t.Errorf("hardware before any job: limit %d (%q), %d in use; want 3 (nvenc_sessions = 3), 0",
			h.NVENCSessionLimit, h.NVENCSessionLimitReason, h.NVENCSessions)
	}

	first := td.submit(td.source("first-slow.mxf"), "web", "")
	td.waitState(first, "running", 10*time.Second)
	second := td.submit(td.source("second-slow.mxf"), "web", "")
	td.waitState(second, "running", 10*time.Second)
	td.wantSessions(3)

	// Three of its four rungs encode on NVENC; the fourth says why not.
	limited := "NVENC session limit 3 reached"
	wantGrant(t, td.waitState(first, "done", 20*time.Second), 3, limited)
	// The second job still holds none, running or done: the first's
	// sessions are free again.
	td.wantSessions(0)
	wantGrant(t, td.waitState(second, "done", 20*time.Second), 0, limited)

	third := td.submit(td.source("third-slow.mxf"), "web", "")
	td.waitState(third, "running", 10*time.Second)
	td.wantSessions(3)
	wantGrant(t, td.waitState(third, "done", 20*time.Second), 3, limited)
	td.wantSessions(0)

	var started []float64
	for _, rec := range td.logs.records("job started") {
		started = append(started, rec["nvenc_sessions"].(float64))
	}
	if !slices.Equal(started, []float64{3, 0, 3}) {
		t.Errorf("job started logs give nvenc_sessions %v; want [3 0 3]", started)
	}
}

// wantSessions checks that the metrics gauge and /v1/hardware both count
// n sessions in use.
func (td *testDaemon) wantSessions(n int) {
	td.t.Helper()
	var h api.Hardware
	td.getJSON("/v1/hardware", &h)
	_, metrics := td.call("GET", "/metrics", "")
	line := "kiln_nvenc_sessions_in_use " + itoa(n) + "\n"
	if h.NVENCSessions != n || !strings.Contains(string(metrics), line) {
		td.t.Errorf("sessions in use: /v1/hardware says %d, /metrics has %q; want %d in both", h.NVENCSessions,
			grepLine(string(metrics), "kiln_nvenc_sessions_in_use "), n)
	}
}

// wantGrant checks what the worker was told: the sessions in its spec (the
// fake worker's plan repeats them) and the note, as a report warning.
func wantGrant(t *testing.T, j api.Job, sessions int, note string) {
	t.Helper()
	var rep job.Report
	if err := json.Unmarshal(j.Report, &rep); err != nil {
		t.Fatalf("job %d's report: %v: %s", j.ID, err, j.Report)
	}
	if !slices.Contains(rep.Plan, "NVENC sessions granted: "+itoa(sessions)) {
		t.Errorf("job %d: plan %q; want %d NVENC sessions granted", j.ID, rep.Plan, sessions)
	}
	// The probe found NVDEC: every GPU job asks for it.
	if !slices.Contains(rep.Plan, "NVDEC asked for: true") {
		t.Errorf("job %d: plan %q; want NVDEC asked for", j.ID, rep.Plan)
	}
	has := slices.Contains(rep.Warnings, note)
	if note == "" {
		has = !slices.ContainsFunc(rep.Warnings, func(w string) bool { return strings.Contains(w, "NVENC") })
	}
	if !has {
		t.Errorf("job %d: warnings %q; want the NVENC note %q", j.ID, rep.Warnings, note)
	}
}

// TestNVENCGrant: what a GPU job gets, by profile, hardware and what the
// running jobs hold.
func TestNVENCGrant(t *testing.T) {
	abr := config.Profile{Kind: "abr"}
	fileH264 := config.Profile{Kind: "file", Codec: "h264"}
	fileHEVC := config.Profile{Kind: "file", Codec: "hevc"}
	pal := config.Profile{Kind: "broadcast", Standard: "pal", Codec: "h264"}
	gpu := func(name string, h264, hevc bool) *api.Hardware {
		return &api.Hardware{Backend: "cuda", GPUs: []api.GPU{{Name: name}}, NVENC: map[string]api.Capability{
			"h264": {Available: h264, Reason: map[bool]string{false: "OpenEncodeSessionEx failed: unsupported device (2)"}[h264]},
			"hevc": {Available: hevc, Reason: map[bool]string{false: "no HEVC encoder on this GPU"}[hevc]}}}
	}
	for _, c := range []struct {
		name       string
		hw         *api.Hardware
		configured int
		held       []int // sessions the running jobs hold
		profile    config.Profile
		want       int
		note       string
	}{
		{"ABR, all free", gpu("NVIDIA RTX A4000", true, true), 0, nil, abr, 4, ""},
		{"ABR, limit 3", gpu("NVIDIA RTX A4000", true, true), 3, nil, abr, 3, "NVENC session limit 3 reached"},
		{"ABR, 1 left", gpu("NVIDIA GeForce RTX 3080", true, true), 0, []int{4, 3}, abr, 1, "NVENC session limit 8 reached"},
		{"ABR, none left", gpu("NVIDIA GeForce RTX 3080", true, true), 3, []int{3}, abr, 0, "NVENC session limit 3 reached"},
		{"file H.264", gpu("NVIDIA GeForce RTX 3080", true, true), 3, []int{2}, fileH264, 1, ""},
		{"file HEVC without HEVC NVENC", gpu("NVIDIA RTX A4000", true, false), 0, nil, fileHEVC, 0,
			"NVENC unavailable for HEVC (no HEVC encoder on this GPU)"},
		{"broadcast: fields", gpu("NVIDIA RTX A4000", true, true), 0, nil, pal, 0, ""},
		{"H100 by its name", gpu("NVIDIA H100 80GB HBM3", true, true), 4, nil, abr, 0,
			"NVENC unavailable (NVIDIA H100 80GB HBM3 has no NVENC engine"},
		{"H200 by its probe", gpu("NVIDIA H200", false, false), 0, nil, abr, 0,
			"NVENC unavailable for H.264 (OpenEncodeSessionEx failed: unsupported device (2))"},
		{"not probed", nil, 0, nil, abr, 0, "NVENC unavailable (the hardware has not been probed yet)"},
	} {
		d := &Daemon{running: map[int64]*workerProcess{}}
		d.cfg.Store(&config.Config{Daemon: config.Daemon{GPUJobs: 2, NVENCSessions: c.configured}})
		if c.hw != nil {
			d.hardware.Store(c.hw)
		}
		for i, n := range c.held {
			d.running[int64(i+1)] = &workerProcess{backend: "cuda", nvencSessions: n}
		}
		got, note := d.grantNVENCLocked(c.profile)
		if got != c.want || !strings.HasPrefix(note, c.note) || (c.note == "") != (note == "") {
			t.Errorf("%s: granted %d, note %q; want %d, %q", c.name, got, note, c.want, c.note)
		}
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// grepLine is the first line of s that starts with prefix.
func grepLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
