// Package hardware tells the daemon what the GPU can do for Kiln: which
// CUDA devices there are, whether the kernels can run on them, and whether
// NVENC and NVDEC are usable, each with a reason a person can act on.
//
// It learns this by running the GPU worker's probe (`kiln-gpu-worker
// probe`) as a child process and reading its JSON, because the CUDA library
// Kiln uses exits a process that has no GPU at start-up: only the separate
// worker binary may link it, and its failure to start is itself the answer
// "no GPU". The package's room is that probe and the decisions drawn from
// it (the backend, NVENC session limits). It is pure Go and must not import
// gpu/ (CUDA), pipeline/ (libav) or anything with cgo, so that the daemon
// stays free of both.
package hardware

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"
	"time"
)

// Availability is whether a facility works here, and if not, why.
type Availability struct {
	Available bool   `json:"available"`
	Reason    string `json:"reason,omitempty"`
}

// GPU is one CUDA device.
type GPU struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	// ComputeCapability is NVIDIA's "major.minor", e.g. "8.6".
	ComputeCapability string `json:"compute_capability"`
	MemoryBytes       int64  `json:"memory_bytes"`
}

// Codecs the probe test-opens an NVENC encoder for: the keys of NVENC.
const (
	CodecH264 = "h264"
	CodecHEVC = "hevc"
)

// WorkerProbe is what `kiln-gpu-worker probe` prints: one JSON object.
type WorkerProbe struct {
	Devices []GPU `json:"devices"`
	// CUDAAvailable says whether the kernels' PTX loaded and a context
	// could be made on device 0; CUDAReason says why not.
	CUDAAvailable bool   `json:"cuda_available"`
	CUDAReason    string `json:"cuda_reason,omitempty"`
	// DriverCUDA is the CUDA version the driver supports ("12.2").
	DriverCUDA string `json:"driver_cuda,omitempty"`
	// NVENC holds a test-open of libav's h264_nvenc and hevc_nvenc.
	NVENC map[string]Availability `json:"nvenc"`
	// NVDEC is whether libav could make a CUDA hardware device context.
	NVDEC Availability `json:"nvdec"`
}

// Backends a Report can choose for the kernels.
const (
	BackendCUDA = "cuda"
	BackendCPU  = "cpu"
)

// Report is what the daemon shows at GET /v1/hardware and uses to plan
// jobs. Backend is "cuda" when the kernels can run on a GPU, else "cpu";
// NVENC and NVDEC are judged separately, since an encoder may be usable on
// a GPU the kernels do not support, and a data-centre GPU runs the kernels
// but has no NVENC.
type Report struct {
	GPUs    []GPU                   `json:"gpus"`
	CUDA    Availability            `json:"cuda"`
	NVENC   map[string]Availability `json:"nvenc"`
	NVDEC   Availability            `json:"nvdec"`
	Backend string                  `json:"backend"`
}

// ProbeTimeout bounds a probe whose context has no earlier deadline. The
// first probe on a machine includes the driver's JIT compilation of the
// PTX (cached afterwards), which takes seconds, not minutes.
const ProbeTimeout = 60 * time.Second

// Probe runs `<gpuWorker> probe` and turns its outcome into a Report. It
// never fails: whatever goes wrong (no worker installed, no device, a
// driver too old, output it cannot read) becomes a CPU report whose
// reasons say what happened and what to do.
func Probe(ctx context.Context, gpuWorker string) Report {
	if gpuWorker == "" {
		return cpuReport("GPU worker not configured: build it with make cuda and set its path")
	}
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, gpuWorker, "probe")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return cpuReport(fmt.Sprintf("GPU worker probe did not finish: %v (is the GPU hung? see nvidia-smi)", ctx.Err()))
	}
	var exitErr *exec.ExitError
	switch {
	case errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist):
		return cpuReport(fmt.Sprintf("GPU worker not installed: build it with make cuda (no %s)", gpuWorker))
	case errors.Is(err, fs.ErrPermission):
		return cpuReport(fmt.Sprintf("GPU worker %s is not executable: %v", gpuWorker, err))
	case errors.As(err, &exitErr):
		return cpuReport(failureReason(exitErr.ExitCode(), stdout.String(), stderr.String()))
	case err != nil:
		return cpuReport(fmt.Sprintf("GPU worker did not run: %v", err))
	}
	var p WorkerProbe
	// Unknown fields are ignored: a newer worker may report more.
	if err := json.NewDecoder(&stdout).Decode(&p); err != nil {
		return cpuReport(fmt.Sprintf("GPU worker printed an unreadable probe (%v): is it from another Kiln version? rebuild it with make cuda", err))
	}
	return fromProbe(p)
}

// fromProbe draws the report from a probe the worker completed.
func fromProbe(p WorkerProbe) Report {
	r := Report{GPUs: p.Devices, NVENC: map[string]Availability{}, NVDEC: p.NVDEC}
	if r.GPUs == nil {
		r.GPUs = []GPU{}
	}
	for _, c := range []string{CodecH264, CodecHEVC} {
		a, ok := p.NVENC[c]
		if !ok {
			a = Availability{Reason: "the GPU worker did not test it"}
		}
		r.NVENC[c] = a
	}
	switch {
	case len(p.Devices) == 0:
		r.CUDA = Availability{Reason: "no CUDA device visible (check CUDA_VISIBLE_DEVICES and nvidia-smi)"}
	case !p.CUDAAvailable:
		reason := p.CUDAReason
		if reason == "" {
			reason = "the GPU worker gave no reason"
		}
		r.CUDA = Availability{Reason: reason}
	default:
		r.CUDA = Availability{Available: true}
	}
	r.Backend = BackendCPU
	if r.CUDA.Available {
		r.Backend = BackendCUDA
	}
	return r
}

// cpuReport is the report of a machine where the probe itself failed:
// nothing GPU is usable, all for the same reason.
func cpuReport(reason string) Report {
	no := Availability{Reason: reason}
	return Report{
		GPUs:    []GPU{},
		CUDA:    no,
		NVENC:   map[string]Availability{CodecH264: no, CodecHEVC: no},
		NVDEC:   no,
		Backend: BackendCPU,
	}
}

// cuInitMarker precedes the driver's error name in what gorgonia.org/cu
// prints (on stdout) before it exits when cuInit fails.
const cuInitMarker = "for details on: "

// failureReason explains a worker that exited non-zero. The usual case is
// cu's init failing (no device, no driver), which prints one line on stdout
// and exits 1; a missing libcuda makes the dynamic loader fail before that,
// on stderr, with 127.
func failureReason(code int, stdout, stderr string) string {
	msg := lastLine(stderr)
	if i := strings.Index(stdout, cuInitMarker); i >= 0 {
		msg = lastLine(stdout[i+len(cuInitMarker):])
	} else if msg == "" {
		msg = lastLine(stdout)
	}
	if msg == "" {
		msg = fmt.Sprintf("exit status %d, no message", code)
	}
	switch {
	case strings.Contains(msg, "libcuda.so"):
		return "no CUDA driver: " + msg + " (install the NVIDIA driver, or libcuda1 on Debian)"
	case msg == "NoDevice" || strings.Contains(msg, "no CUDA-capable device"):
		return "no CUDA device: " + msg
	case msg == "InsufficientDriver":
		return "no CUDA device: the NVIDIA driver is older than the CUDA the GPU worker was built for (" + msg + "); update the driver"
	case msg == "SystemDriverMismatch" || msg == "CompatNotSupportedOnDevice":
		return "no CUDA device: the NVIDIA kernel module and libcuda differ in version (" + msg + "); reboot or reinstall the driver"
	case strings.Contains(stdout, cuInitMarker):
		return "no CUDA device: cuInit failed: " + msg
	}
	return fmt.Sprintf("GPU worker failed (exit status %d): %s", code, msg)
}

// lastLine is the last non-blank line of s, trimmed and cut to a length a
// report can show.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimSpace(lines[len(lines)-1])
	if len(l) > 300 {
		l = l[:300] + "…"
	}
	return l
}
