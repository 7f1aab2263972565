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

// Sound that ends before the picture (common in real files) must not cut
// an MXF output short: libav's MXF muxer drops the pictures after the last
// sound, so a 1 s source with 0.6 s of sound came out 0.6 s long and was
// quarantined ("duration: expected 1.000 s ± 0.040, got 0.600 s"); and the
// padding must not then fail the loudness check.
func TestMXFKeepsPicturesPastShortSound(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "short-sound.mov")
	if b, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-t", "1", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-t", "0.6", "-f", "lavfi", "-i", "sine=f=997:sample_rate=48000", "-map", "0:v", "-map", "1:a",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", "-ac", "2", src).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	// With a loudness target, the gain must be for the padded track: the
	// silence at its end lowers the integrated loudness of a short one.
	target := -23.0
	for _, p := range []config.Profile{
		{Name: "secam-mxf", Kind: "broadcast", Standard: "secam", Codec: "mpeg2", Aspect: "4:3", Fit: "crop", Container: "mxf",
			VideoBitrate: 8_000_000, FrameRateMethod: "mc", ScaleFilter: "lanczos", Audio: config.Audio{Codec: "pcm", Loudness: &target}},
		{Name: "imx50", Kind: "broadcast", Standard: "pal", Codec: "d10", Aspect: "16:9", Fit: "letterbox", Container: "mxf",
			VideoBitrate: 50_000_000, FrameRateMethod: "mc", ScaleFilter: "lanczos", Audio: config.Audio{Codec: "pcm"}},
	} {
		t.Run(p.Name, func(t *testing.T) {
			report, err := Run(context.Background(), job.Spec{ID: 3, Source: src, Profile: p, OutputRoot: filepath.Join(dir, p.Name)}, nil)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			out := report.Outputs[0].Path
			b, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out).Output()
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Trim(string(b), ", \n"); got != "25" {
				t.Errorf("%s holds %s pictures, want 25", filepath.Base(out), got)
			}
		})
	}
}
