package daemon

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"kiln/api"
	"kiln/config"
	"kiln/daemon/daemontest"
	"kiln/job"
)

// TestTranscodePlacesLikeTheDaemon: `kilnd transcode` (Transcode) probes
// the GPU worker and runs its job where a daemon with the same workers
// runs one, and its report says the same about the backend: on the CPU
// worker with the probe's reason when there is no GPU worker, on the GPU
// worker with NVENC and NVDEC granted when the probe finds a GPU.
func TestTranscodePlacesLikeTheDaemon(t *testing.T) {
	td := initDaemon(t, baseConfig)
	td.run()
	waitFor(t, 10*time.Second, "the API", func() bool { status, _ := td.call("GET", "/v1/health", ""); return status == 200 })
	gpuWorker := filepath.Join(td.root, "kiln-gpu-worker") // not there yet

	// Both at once: the daemon, told about the GPU worker by a reload, and
	// the foreground job, each with the same source name and profile.
	run := func(name string) (TranscodeOutcome, job.Report) {
		t.Helper()
		var h api.Hardware
		td.getJSON("/v1/hardware", &h)
		before := h.ProbedAt
		td.d.GPUWorker = gpuWorker
		if status, body := td.call("POST", "/v1/reload", ""); status != 200 {
			t.Fatalf("reload: %d %s", status, body)
		}
		// The reload's probe runs in the background.
		waitFor(t, 10*time.Second, "a new probe after the reload", func() bool {
			td.getJSON("/v1/hardware", &h)
			return h.ProbedAt.After(before)
		})
		j := td.waitState(td.submit(td.source(name+".mxf"), "p1", ""), "done", 20*time.Second)
		var daemonReport job.Report
		if err := json.Unmarshal(j.Report, &daemonReport); err != nil {
			t.Fatalf("daemon job's report: %v", err)
		}
		fg := filepath.Join(td.root, "fg")
		os.MkdirAll(fg, 0o755)
		src := filepath.Join(fg, name+".mxf")
		os.WriteFile(src, []byte("not really video"), 0o644)
		tr := &Transcode{Config: td.d.cfg.Load(), WorkerCmd: daemontest.WorkerCmd(), GPUWorker: gpuWorker, Stderr: td.logs}
		spec := job.Spec{Source: src, Profile: *mustProfile(t, tr, "p1"), OutputRoot: filepath.Join(fg, "out")}
		frames := int64(0)
		out, err := tr.Run(context.Background(), spec, func(p job.Progress) { frames = p.Frames })
		if err != nil {
			t.Fatalf("Transcode.Run: %v", err)
		}
		if !out.Result.OK || out.Result.Report == nil || frames == 0 {
			t.Fatalf("foreground job: %+v (last progress at frame %d)", out.Result, frames)
		}
		b, err := os.ReadFile(ReportPath(spec))
		if err != nil {
			t.Fatalf("no report where ReportPath says: %v", err)
		}
		var written job.Report
		if err := json.Unmarshal(b, &written); err != nil || written.BackendNote != out.Result.Report.BackendNote {
			t.Errorf("report file %s: note %q, err %v; the result's note is %q", ReportPath(spec), written.BackendNote, err,
				out.Result.Report.BackendNote)
		}
		// What the report says about where the job ran is the daemon's.
		fgReport := *out.Result.Report
		if fgReport.BackendNote != daemonReport.BackendNote || !slices.Equal(fgReport.Plan, daemonReport.Plan) ||
			!slices.Equal(fgReport.Warnings, daemonReport.Warnings) {
			t.Errorf("%s: kilnd transcode's report differs from the daemon's:\n  note %q\n  plan %q\n  warnings %q\nwant\n  note %q\n  plan %q\n  warnings %q",
				name, fgReport.BackendNote, fgReport.Plan, fgReport.Warnings,
				daemonReport.BackendNote, daemonReport.Plan, daemonReport.Warnings)
		}
		return out, fgReport
	}

	// No GPU worker installed: the CPU worker, and the report says why.
	out, report := run("nogpu")
	if out.Backend != "cpu" || out.Hardware.Backend != "cpu" ||
		!strings.Contains(report.BackendNote, "GPU backend unavailable (GPU worker not installed") {
		t.Errorf("without a GPU worker: backend %s, note %q; want cpu and the probe's reason", out.Backend, report.BackendNote)
	}

	// A stand-in GPU worker whose probe finds one GPU with NVENC and NVDEC,
	// and which runs jobs as the fake worker does, leaving a mark.
	marks := filepath.Join(td.root, "gpu-ran")
	exe := daemontest.WorkerCmd()
	script := `#!/bin/sh
case "$1" in
probe) echo '{"devices":[{"index":0,"name":"NVIDIA RTX A4000","compute_capability":"8.6","memory_bytes":17179869184}],"cuda_available":true,"nvenc":{"h264":{"available":true}},"nvdec":{"available":true}}' ;;
worker) echo x >> '` + marks + `'; exec '` + exe[0] + `' ` + exe[1] + ` ;;
*) exit 2 ;;
esac
`
	if err := os.WriteFile(gpuWorker, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, report = run("gpu")
	if out.Backend != "cuda" || out.Hardware.Backend != "cuda" || report.BackendNote != "" ||
		!slices.Contains(report.Plan, "NVENC sessions granted: 1") || !slices.Contains(report.Plan, "NVDEC asked for: true") {
		t.Errorf("with a GPU: backend %s, note %q, plan %q; want cuda, no note, one NVENC session and NVDEC",
			out.Backend, report.BackendNote, report.Plan)
	}
	// One mark from the daemon's job, one from the foreground's.
	if b, err := os.ReadFile(marks); err != nil || strings.Count(string(b), "x") != 2 {
		t.Errorf("the GPU worker ran %q times (%v); want the daemon's job and the foreground job", b, err)
	}
}

// TestTranscodeRetriesACrashLikeTheDaemon: a worker that crashes is tried
// again up to max_attempts, and the outcome names the crash.
func TestTranscodeRetriesACrashLikeTheDaemon(t *testing.T) {
	td := initDaemon(t, baseConfig) // max_attempts = 2
	src := filepath.Join(td.root, "crash.mxf")
	os.WriteFile(src, []byte("not really video"), 0o644)
	tr := &Transcode{Config: td.d.cfg.Load(), WorkerCmd: daemontest.WorkerCmd(), Stderr: td.logs}
	spec := job.Spec{Source: src, Profile: *mustProfile(t, tr, "p1"), OutputRoot: filepath.Join(td.root, "out")}
	out, err := tr.Run(context.Background(), spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Result.OK || out.Attempts != 2 || !strings.Contains(out.Result.Reason, "worker exited with status 7") ||
		!strings.Contains(out.Result.Reason, "simulated crash") {
		t.Errorf("outcome %+v; want two attempts, failed with the crash's status and last words", out)
	}
	if out.Backend != "cpu" || !strings.Contains(cpuNote(&out.Hardware), "GPU worker not configured") {
		t.Errorf("backend %s, hardware %+v", out.Backend, out.Hardware)
	}
}

func mustProfile(t *testing.T, tr *Transcode, name string) *config.Profile {
	t.Helper()
	p, ok := tr.Config.Profile(name)
	if !ok {
		t.Fatalf("no profile %s", name)
	}
	return p
}
