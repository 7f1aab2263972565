package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"kiln/api"
)

// TestNoGPUFallback installs the real GPU worker (built with -tags cuda
// against the real libcuda) next to kilnd on this machine without a GPU: the
// daemon's probe must report the CPU backend with the reason, and a job must
// complete on the CPU with that reason in its report.
func TestNoGPUFallback(t *testing.T) {
	if _, err := os.Stat("/usr/include/cuda.h"); err != nil {
		t.Fatal("CUDA headers not installed: scripts/setup-debian.sh cuda installs them (make test runs it through scripts/cuda-check.sh)")
	}
	gpuWorker := filepath.Join(filepath.Dir(kilndBin), "kiln-gpu-worker")
	build := exec.Command("go", "build", "-tags", "cuda", "-o", gpuWorker, "kiln/cmd/kiln-gpu-worker")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the GPU worker against libcuda: %v\n%s", err, b)
	}
	defer os.Remove(gpuWorker)
	if out, err := exec.Command(gpuWorker, "probe").CombinedOutput(); err == nil {
		t.Skipf("a GPU is present; this test is for machines without one:\n%s", out)
	}

	d := startDaemon(t, watchConfig)
	var h api.Hardware
	waitFor(t, 30*time.Second, "the hardware probe", func() bool {
		return d.get("/v1/hardware", &h) == nil && h.CUDA.Reason != ""
	})
	if h.Backend != "cpu" || h.CUDA.Available {
		t.Fatalf("hardware on a machine without a GPU: %+v", h)
	}
	t.Logf("probe: backend %s, reason %q", h.Backend, h.CUDA.Reason)

	src := ffmpeg(t, filepath.Join(t.TempDir(), "fallback.mp4"),
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart")
	drop(t, src, filepath.Join(d.root, "in"), "fallback.mp4")
	waitFor(t, 3*time.Minute, "the job to finish", func() bool {
		_, err := os.Stat(filepath.Join(d.root, "in", "done", "fallback.mp4"))
		return err == nil
	})
	for _, j := range d.jobs() {
		var full api.Job
		if err := d.get("/v1/jobs/"+itoa(j.ID), &full); err != nil {
			t.Fatal(err)
		}
		var r struct {
			Backends    map[string]string `json:"backends"`
			BackendNote string            `json:"backend_note"`
		}
		json.Unmarshal(full.Report, &r)
		if !strings.HasPrefix(r.Backends["video_process"], "cpu") || !strings.Contains(r.BackendNote, "GPU backend unavailable") {
			t.Errorf("job %d: backends %v, note %q; want cpu with the reason", j.ID, r.Backends, r.BackendNote)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
