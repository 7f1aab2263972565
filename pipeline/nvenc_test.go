package pipeline

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln/config"
	"kiln/job"
)

// TestNVENCFallsBackToX264: a job asked to use NVENC on a machine where it
// cannot open (no GPU here, or a session cap, or a data-centre GPU without
// NVENC) completes with x264 and says why; interlaced H.264 goes to x264 by
// plan, since NVENC cannot code fields on Turing and later.
func TestNVENCFallsBackToX264(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "p.mp4")
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", src).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	file := config.Profile{Name: "f", Kind: "file", Codec: "h264", Container: "mp4", VideoBitrate: 1_000_000,
		FrameRateMethod: "mc", Deinterlace: "auto", ScaleFilter: "lanczos"}
	pal := config.Profile{Name: "pal", Kind: "broadcast", Standard: "pal", Codec: "h264", Aspect: "16:9", Fit: "letterbox",
		Container: "ts", VideoBitrate: 5_000_000, FrameRateMethod: "dup", ScaleFilter: "lanczos", Audio: config.Audio{Codec: "mp2", Bitrate: 256_000}}
	for _, c := range []struct {
		profile config.Profile
		want    string
	}{
		{file, "NVENC could not open"},
		{pal, "NVENC cannot code fields"},
	} {
		if _, err := exec.Command("nvidia-smi").Output(); err == nil {
			t.Skip("a GPU is present; this test is for the fallback")
		}
		report, err := Run(context.Background(), job.Spec{ID: 8, Source: src, Profile: c.profile, OutputRoot: filepath.Join(dir, "out"), NVENC: true}, nil)
		if err != nil {
			t.Fatalf("%s: the job failed instead of falling back: %v", c.profile.Name, err)
		}
		if report.Backends["video_encode"] != "libx264" {
			t.Errorf("%s: encoded with %q, want libx264", c.profile.Name, report.Backends["video_encode"])
		}
		if !strings.Contains(strings.Join(report.Warnings, "\n"), c.want) {
			t.Errorf("%s: warnings %q do not say %q", c.profile.Name, report.Warnings, c.want)
		}
	}
}
