package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kiln/api"
	"kiln/daemon/daemontest"
)

// TestHardwareFromGPUWorkerProbe: /v1/hardware shows what the GPU worker's
// probe printed, probed again on reload, and a CPU report with the reason
// when there is no worker.
func TestHardwareFromGPUWorkerProbe(t *testing.T) {
	t.Parallel()
	td := initDaemon(t, baseConfig)
	var h api.Hardware
	// initDaemon gives no GPU worker.
	td.run()
	td.getJSON("/v1/hardware", &h)
	if h.Backend != "cpu" || h.CUDA.Available || !strings.Contains(h.CUDA.Reason, "GPU worker") ||
		h.NVENC["h264"].Available || h.NVENC["h264"].Reason == "" {
		t.Errorf("hardware without a GPU worker = %+v", h)
	}

	// A stand-in for `kiln-gpu-worker probe` on a host with one GPU.
	worker := filepath.Join(td.root, "kiln-gpu-worker")
	script := `#!/bin/sh
[ "$1" = probe ] || exit 2
echo '{"devices":[{"index":0,"name":"NVIDIA GeForce RTX 3080","compute_capability":"8.6","memory_bytes":10737418240}],` +
		`"cuda_available":true,"nvenc":{"h264":{"available":true},"hevc":{"available":false,"reason":"no HEVC here"}},"nvdec":{"available":true}}'
`
	if err := os.WriteFile(worker, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	before := h.ProbedAt
	td.d.GPUWorker = worker
	if status, body := td.call("POST", "/v1/reload", ""); status != 200 {
		t.Fatalf("reload: %d %s", status, body)
	}
	waitFor(t, 10*time.Second, "a new probe after the reload", func() bool {
		h = api.Hardware{}
		td.getJSON("/v1/hardware", &h)
		return h.ProbedAt.After(before)
	})
	want := api.GPU{Index: 0, Name: "NVIDIA GeForce RTX 3080", ComputeCapability: "8.6", MemoryBytes: 10737418240}
	if h.Backend != "cuda" || !h.CUDA.Available || len(h.GPUs) != 1 || h.GPUs[0] != want ||
		!h.NVENC["h264"].Available || h.NVENC["hevc"].Reason != "no HEVC here" || !h.NVDEC.Available || h.NVENCSessions != 0 {
		t.Errorf("hardware with a GPU = %+v", h)
	}
}

// TestJobsRunOnTheGPUWorkerWhenProbed: with a GPU found, jobs go to the GPU
// worker (up to gpu_jobs per GPU); without one, they run on the CPU worker
// and the report says why.
func TestJobsRunOnTheGPUWorkerWhenProbed(t *testing.T) {
	t.Parallel()
	td := initDaemon(t, baseConfig)
	td.run()
	waitFor(t, 10*time.Second, "the API", func() bool { status, _ := td.call("GET", "/v1/health", ""); return status == 200 })

	// No GPU worker: CPU, with the probe's reason in the report.
	id := td.submit(td.source("cpu.mxf"), "p1", "")
	j := td.waitState(id, "done", 20*time.Second)
	if !strings.Contains(string(j.Report), "GPU backend unavailable") {
		t.Errorf("CPU fallback not explained in the report: %s", j.Report)
	}

	// A stand-in GPU worker: probes one GPU, and runs jobs as the fake worker
	// does, leaving a mark that it ran.
	exe := daemontest.WorkerCmd()
	marks := filepath.Join(td.root, "gpu-ran")
	worker := filepath.Join(td.root, "kiln-gpu-worker")
	script := `#!/bin/sh
case "$1" in
probe) echo '{"devices":[{"index":0,"name":"NVIDIA RTX A4000","compute_capability":"8.6","memory_bytes":17179869184}],"cuda_available":true,"nvenc":{"h264":{"available":true}},"nvdec":{"available":true}}' ;;
worker) echo x >> '` + marks + `'; exec '` + exe[0] + `' ` + exe[1] + ` ;;
*) exit 2 ;;
esac
`
	if err := os.WriteFile(worker, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	td.d.GPUWorker = worker
	if status, body := td.call("POST", "/v1/reload", ""); status != 200 {
		t.Fatalf("reload: %d %s", status, body)
	}
	waitFor(t, 10*time.Second, "the probe to find the GPU", func() bool {
		var h api.Hardware
		td.getJSON("/v1/hardware", &h)
		return h.Backend == "cuda"
	})
	id = td.submit(td.source("gpu.mxf"), "p1", "")
	j = td.waitState(id, "done", 20*time.Second)
	if b, err := os.ReadFile(marks); err != nil || len(b) == 0 {
		t.Errorf("the job did not run on the GPU worker (marks: %q, %v)", b, err)
	}
	if strings.Contains(string(j.Report), "GPU backend unavailable") {
		t.Errorf("a GPU job's report says the GPU was unavailable: %s", j.Report)
	}
}
