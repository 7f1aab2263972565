package pipeline

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"testing"

	"kiln/config"
	"kiln/job"
)

// A 5.1 source into a stereo broadcast output: the gain must be set on
// the stereo downmix the output carries. Measured on the 5.1 programme,
// it missed the target by about 9 LU and the output was quarantined
// ("audio 1 loudness: expected -23.0 LUFS ± 1, got -32.3 LUFS").
func TestLoudnessOfDownmix(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "surround.mov")
	expr := ""
	for i, f := range []int{440, 554, 659, 80, 330, 392} {
		if i > 0 {
			expr += "|"
		}
		expr += fmt.Sprintf("0.25*sin(2*PI*%d*t)", f)
	}
	if b, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-t", "3", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-t", "3", "-f", "lavfi", "-i", "aevalsrc="+expr+":s=48000:c=5.1", "-map", "0:v", "-map", "1:a",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", src).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	target := -23.0
	p := config.Profile{Name: "secam-mxf", Kind: "broadcast", Standard: "secam", Codec: "mpeg2", Aspect: "4:3", Fit: "crop", Container: "mxf",
		VideoBitrate: 8_000_000, FrameRateMethod: "mc", ScaleFilter: "lanczos", Audio: config.Audio{Codec: "pcm", Loudness: &target}}
	report, err := Run(context.Background(), job.Spec{ID: 6, Source: src, Profile: p, OutputRoot: filepath.Join(dir, "out")}, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(report.Loudness) != 1 || math.Abs(report.Loudness[0].After-target) > 1 {
		t.Errorf("loudness %+v, want after %.1f ± 1", report.Loudness, target)
	}
}
