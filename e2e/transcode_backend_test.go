package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln/job"
)

// TestTranscodeSaysWhyCPU: `kilnd transcode` on this machine, which has no
// GPU worker next to kilnd, probes as the daemon does and runs on the CPU
// worker, and its report (and its output) say so with the probe's reason,
// as a daemon job's report would.
func TestTranscodeSaysWhyCPU(t *testing.T) {
	// kilnd looks for its workers in ../libexec/kiln, then next to itself;
	// when the GPU worker is in neither, the reason names the first, where
	// make install would put it.
	gpuWorker := filepath.Clean(filepath.Join(filepath.Dir(kilndBin), "..", "libexec", "kiln", "kiln-gpu-worker"))
	for _, p := range []string{gpuWorker, filepath.Join(filepath.Dir(kilndBin), "kiln-gpu-worker")} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s is installed: this test needs the machine as make build leaves it", p)
		}
	}
	root := t.TempDir()
	cfg := filepath.Join(root, "kiln.toml")
	os.WriteFile(cfg, []byte(`
[profile.small]
kind = "file"
codec = "h264"
container = "mp4"
width = 320
height = 180
video_bitrate = "500k"
`), 0o644)
	src := ffmpeg(t, filepath.Join(root, "clip.mp4"),
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=f=440:sample_rate=48000",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac")
	out := filepath.Join(root, "out")
	cmd := exec.Command(kilndBin, "transcode", "--config", cfg, "--profile", "small", src, out)
	printed, err := cmd.Output()
	if err != nil {
		t.Fatalf("kilnd transcode: %v\n%s", err, printed)
	}
	if !strings.Contains(string(printed), "backend: cpu\nbackend note: GPU backend unavailable (GPU worker not installed") {
		t.Errorf("kilnd transcode does not say where it ran and why:\n%s", printed)
	}
	b, err := os.ReadFile(filepath.Join(out, "clip", "small", "clip.kiln.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r job.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Backends["video_process"], "cpu") ||
		!strings.Contains(r.BackendNote, "GPU backend unavailable (GPU worker not installed") ||
		!strings.Contains(r.BackendNote, gpuWorker) {
		t.Errorf("report: backends %v, backend_note %q; want cpu, and why not the GPU", r.Backends, r.BackendNote)
	}
}
