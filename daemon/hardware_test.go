package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kiln/api"
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
