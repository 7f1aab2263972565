package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const diskConfig = `
[daemon]
state_dir = "{{root}}/state"
socket    = "{{root}}/run/kiln.sock"

[profile.pal]
kind = "broadcast"
standard = "pal"

[profile.tiny]
kind = "file"
codec = "mpeg2"
container = "ts"
video_bitrate = "100k"
`

// TestFullDisk writes into a 1 MiB filesystem: a job that obviously cannot
// fit is refused before it starts, one whose outputs outgrow the estimate
// fails with "no space left", and neither leaves staging behind, publishes a
// partial output or touches the source.
func TestFullDisk(t *testing.T) {
	root := t.TempDir()
	out := filepath.Join(root, "small")
	os.MkdirAll(out, 0o755)
	if b, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", out).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root): %v %s", err, b)
	}
	defer exec.Command("umount", out).Run()
	cfg := filepath.Join(root, "kiln.toml")
	os.WriteFile(cfg, []byte(strings.ReplaceAll(diskConfig, "{{root}}", root)), 0o644)
	// Noise: no encoder at 100 kb/s can hold it, so the output outgrows the
	// estimate made from the bitrate.
	src := ffmpeg(t, filepath.Join(root, "noise.mp4"), "-f", "lavfi", "-i", "nullsrc=s=720x576:r=25,geq=random(1)*255:128:128",
		"-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "20",
		"-pix_fmt", "yuv420p", "-c:a", "aac")
	before, _ := os.ReadFile(src)

	for _, c := range []struct{ profile, want string }{
		{"pal", "the outputs need ~"}, // 8 Mb/s for 4 s cannot fit in 1 MiB
		{"tiny", "no space left on"},  // fits the estimate, not the disk
	} {
		b, err := exec.Command(kilndBin, "transcode", "--config", cfg, "--profile", c.profile, src, out).CombinedOutput()
		if err == nil {
			t.Fatalf("%s: a job succeeded on a full disk:\n%s", c.profile, b)
		}
		if !strings.Contains(string(b), c.want) || !strings.Contains(string(b), "no space left") {
			t.Errorf("%s: reason does not say the disk is full (want %q):\n%s", c.profile, c.want, b)
		}
		entries, _ := os.ReadDir(filepath.Join(out, ".kiln-staging"))
		if len(entries) != 0 {
			t.Errorf("%s: staging left on the full disk: %d entries", c.profile, len(entries))
		}
		if _, err := os.Stat(filepath.Join(out, "noise", c.profile)); !os.IsNotExist(err) {
			t.Errorf("%s: a partial output was published", c.profile)
		}
	}
	after, _ := os.ReadFile(src)
	if string(before) != string(after) {
		t.Error("the source changed")
	}
}
