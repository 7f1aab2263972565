package hardware

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// goTool finds the go command that runs this test.
func goTool(t *testing.T) string {
	t.Helper()
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("go command not found")
	}
	return p
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// The real GPU worker must build and link against the CUDA driver library,
// and on a machine without a GPU its probe must end in a CPU report that
// says there is no device: the situation every development and CI machine
// is in, and the fallback the daemon relies on.
func TestRealWorkerFallsBackWithoutGPU(t *testing.T) {
	if !fileExists("/usr/include/cuda.h") && !fileExists("/usr/local/cuda/include/cuda.h") {
		t.Fatal("no cuda.h: install the CUDA headers and driver library (scripts/setup-debian.sh cuda, which make test runs) to build the GPU worker")
	}
	bin := filepath.Join(t.TempDir(), "kiln-gpu-worker")
	cmd := exec.Command(goTool(t), "build", "-tags", "cuda", "-o", bin, "kiln/cmd/kiln-gpu-worker")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build -tags cuda ./cmd/kiln-gpu-worker: %v\n%s", err, out.String())
	}
	r := Probe(context.Background(), bin)
	// The kernel module lists its GPUs here. /dev/nvidiactl says nothing:
	// libcuda creates it when run as root, GPU or not.
	if gpus, _ := os.ReadDir("/proc/driver/nvidia/gpus"); len(gpus) > 0 {
		// A GPU machine: the probe must have run to the end.
		if len(r.GPUs) == 0 {
			t.Fatalf("a GPU machine, yet the probe found no device: %+v", r)
		}
		t.Logf("GPU machine: backend %s, %+v", r.Backend, r)
		return
	}
	if r.Backend != BackendCPU {
		t.Fatalf("no GPU here, yet backend %q: %+v", r.Backend, r)
	}
	for _, reason := range []string{r.CUDA.Reason, r.NVDEC.Reason, r.NVENC[CodecH264].Reason, r.NVENC[CodecHEVC].Reason} {
		if !strings.HasPrefix(reason, "no CUDA device: ") {
			t.Errorf("reason %q, want it to start with %q", reason, "no CUDA device: ")
		}
	}
}

// The daemon links this package, so it must stay free of cgo, CUDA and
// libav: a dependency on any of them would stop kilnd from starting (cu) or
// from building (libav) on a machine without them.
func TestNoCgoDependencies(t *testing.T) {
	out, err := exec.Command(goTool(t), "list", "-deps", "-f", "{{.ImportPath}} {{if .CgoFiles}}cgo{{end}}", "kiln/hardware").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 1 && f[0] != "runtime/cgo" && f[1] == "cgo":
			t.Errorf("hardware depends on %s, which uses cgo", f[0])
		case f[0] == "kiln/gpu" || f[0] == "kiln/pipeline" || strings.HasPrefix(f[0], "gorgonia.org/") || strings.Contains(f[0], "go-astiav"):
			t.Errorf("hardware depends on %s", f[0])
		}
	}
}
