package hardware

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeWorker writes a shell script standing in for kiln-gpu-worker.
func fakeWorker(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kiln-gpu-worker")
	script := "#!/bin/sh\n[ \"$1\" = probe ] || { echo \"unexpected arguments: $*\" >&2; exit 2; }\n" + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

const goodProbe = `cat <<'JSON'
{
  "devices": [{"index": 0, "name": "NVIDIA GeForce RTX 3080", "compute_capability": "8.6", "memory_bytes": 10737418240}],
  "cuda_available": true,
  "driver_cuda": "12.2",
  "nvenc": {"h264": {"available": true}, "hevc": {"available": true}},
  "nvdec": {"available": true},
  "added_by_a_newer_worker": 1
}
JSON`

// cu's init failure, exactly as the real worker prints it without a GPU.
const cuNoDevice = `echo 'Error in initialization, please refer to "https://docs.nvidia.com/cuda/cuda-driver-api/group__CUDA__INITIALIZE.html" for details on: NoDevice'; exit 1`

func TestProbe(t *testing.T) {
	for _, c := range []struct {
		name         string
		worker       string // script body, or a path when it starts with /
		backend      string
		cudaReason   string // prefix; "" for available
		nvenc, nvdec bool
		gpus         int
	}{
		{"GPU with everything", goodProbe, BackendCUDA, "", true, true, 1},
		{"no device", cuNoDevice, BackendCPU, "no CUDA device: NoDevice", false, false, 0},
		{"old driver", `echo 'Error in initialization, please refer to "x" for details on: InsufficientDriver'; exit 1`,
			BackendCPU, "no CUDA device: the NVIDIA driver is older", false, false, 0},
		{"no libcuda", `echo 'kiln-gpu-worker: error while loading shared libraries: libcuda.so.1: cannot open shared object file: No such file or directory' >&2; exit 127`,
			BackendCPU, "no CUDA driver: ", false, false, 0},
		{"GPU too old for the kernels, NVENC fine", `cat <<'JSON'
{"devices": [{"index": 0, "name": "NVIDIA GeForce GTX 1080", "compute_capability": "6.1", "memory_bytes": 8589934592}],
 "cuda_available": false, "cuda_reason": "gpu: NVIDIA GeForce GTX 1080 has compute capability 6.1; the kernels need 7.5 or later",
 "nvenc": {"h264": {"available": true}, "hevc": {"available": true}}, "nvdec": {"available": true}}
JSON`, BackendCPU, "gpu: NVIDIA GeForce GTX 1080 has compute capability 6.1", true, true, 1},
		{"no visible device", `echo '{"devices": [], "cuda_available": false, "nvenc": {}, "nvdec": {"available": false, "reason": "x"}}'`,
			BackendCPU, "no CUDA device visible", false, false, 0},
		{"garbage", `echo 'Segmentation fault? no, just text'`, BackendCPU, "GPU worker printed an unreadable probe", false, false, 0},
		{"crash", `echo 'panic: runtime error' >&2; exit 2`, BackendCPU, "GPU worker failed (exit status 2): panic: runtime error", false, false, 0},
		{"not installed", "/nonexistent/bin/kiln-gpu-worker", BackendCPU, "GPU worker not installed: build it with make cuda", false, false, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := c.worker
			if !strings.HasPrefix(path, "/") {
				path = fakeWorker(t, c.worker)
			}
			r := Probe(context.Background(), path)
			if r.Backend != c.backend {
				t.Errorf("backend %q, want %q (report %+v)", r.Backend, c.backend, r)
			}
			if c.cudaReason == "" && !r.CUDA.Available || c.cudaReason != "" && (r.CUDA.Available || !strings.HasPrefix(r.CUDA.Reason, c.cudaReason)) {
				t.Errorf("CUDA %+v, want reason starting %q", r.CUDA, c.cudaReason)
			}
			if len(r.GPUs) != c.gpus {
				t.Errorf("%d GPUs, want %d", len(r.GPUs), c.gpus)
			}
			for _, codec := range []string{CodecH264, CodecHEVC} {
				a, ok := r.NVENC[codec]
				if !ok || a.Available != c.nvenc || !a.Available && a.Reason == "" {
					t.Errorf("NVENC %s = %+v (present %v), want available %v with a reason if not", codec, a, ok, c.nvenc)
				}
			}
			if r.NVDEC.Available != c.nvdec || !r.NVDEC.Available && r.NVDEC.Reason == "" {
				t.Errorf("NVDEC %+v, want available %v with a reason if not", r.NVDEC, c.nvdec)
			}
		})
	}
}

func TestProbeGPUFields(t *testing.T) {
	r := Probe(context.Background(), fakeWorker(t, goodProbe))
	want := GPU{Index: 0, Name: "NVIDIA GeForce RTX 3080", ComputeCapability: "8.6", MemoryBytes: 10737418240}
	if len(r.GPUs) != 1 || r.GPUs[0] != want {
		t.Errorf("GPUs %+v, want [%+v]", r.GPUs, want)
	}
}

func TestProbeTimesOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	r := Probe(ctx, fakeWorker(t, "exec sleep 30"))
	if time.Since(start) > 10*time.Second {
		t.Errorf("probe took %v despite a 300ms deadline", time.Since(start))
	}
	if r.Backend != BackendCPU || !strings.HasPrefix(r.CUDA.Reason, "GPU worker probe did not finish") {
		t.Errorf("report %+v, want cpu with a timeout reason", r)
	}
}

func TestProbeNotExecutable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiln-gpu-worker")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := Probe(context.Background(), path)
	if r.Backend != BackendCPU || !strings.Contains(r.CUDA.Reason, "not executable") {
		t.Errorf("report %+v, want cpu, worker not executable", r)
	}
}

func TestProbeUnconfigured(t *testing.T) {
	r := Probe(context.Background(), "")
	if r.Backend != BackendCPU || !strings.Contains(r.CUDA.Reason, "make cuda") {
		t.Errorf("report %+v, want cpu, pointing at make cuda", r)
	}
}

func TestNVENCSessions(t *testing.T) {
	for _, c := range []struct {
		name       string
		configured int
		want       int
	}{
		{"NVIDIA GeForce RTX 3080", 2, 2},
		{"NVIDIA GeForce RTX 4090", 12, consumerSessions},
		{"NVIDIA TITAN RTX", 20, consumerSessions},
		{"NVIDIA A100-SXM4-80GB", 4, 0},
		{"NVIDIA A100 80GB PCIe", 4, 0},
		{"NVIDIA H100 80GB HBM3", 4, 0},
		{"NVIDIA H200", 4, 0},
		{"NVIDIA GH200 480GB", 4, 0},
		{"NVIDIA A30", 4, 0},
		{"NVIDIA RTX A3000 Laptop GPU", 4, 4}, // not an A30
		{"NVIDIA RTX A6000", 16, 16},
		{"Tesla T4", 16, 16},
		{"NVIDIA L4", 16, 16},
		{"NVIDIA GeForce RTX 3080", -1, 0},
	} {
		if got := NVENCSessions(c.name, c.configured); got != c.want {
			t.Errorf("NVENCSessions(%q, %d) = %d, want %d", c.name, c.configured, got, c.want)
		}
	}
}
