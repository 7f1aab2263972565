package pipeline

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"kiln/config"
	"kiln/job"
)

func TestJobTimeLimitFormula(t *testing.T) {
	if got := jobTimeLimit(20, 30); got != 2*time.Minute+600*time.Second {
		t.Errorf("limit for 30 s at factor 20 = %s, want 12m0s", got)
	}
}

// TestJobTimeLimit: a job that runs past its limit stops with a permanent,
// readable reason, and publishes nothing.
func TestJobTimeLimit(t *testing.T) {
	defer func(f func(int, float64) time.Duration) { jobTimeLimit = f }(jobTimeLimit)
	jobTimeLimit = func(int, float64) time.Duration { return 300 * time.Millisecond }
	dir := t.TempDir()
	src := filepath.Join(dir, "slow.mp4")
	// 24p into PAL by motion-compensated conversion: seconds of work.
	if out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=24",
		"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", src).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	p := config.Profile{Name: "pal", Kind: "broadcast", Standard: "pal", Codec: "mpeg2", Aspect: "16:9", Fit: "letterbox",
		Container: "ts", VideoBitrate: 8_000_000, FrameRateMethod: "mc", ScaleFilter: "lanczos",
		Audio: config.Audio{Codec: "mp2", Bitrate: 256_000}}
	out := filepath.Join(dir, "out")
	began := time.Now()
	_, err := Run(context.Background(), job.Spec{ID: 5, Source: src, Profile: p, OutputRoot: out,
		Limits: job.Limits{TimeoutFactor: 1}}, nil)
	took := time.Since(began)
	var ie *InputError
	if !errors.As(err, &ie) || !strings.Contains(ie.Reason, "stopped after") || !Permanent(err) {
		t.Fatalf("err = %v (after %s); want a permanent 'stopped after' reason", err, took)
	}
	if took > 10*time.Second {
		t.Errorf("a 300 ms limit took %s to act", took)
	}
	if matches, _ := filepath.Glob(filepath.Join(out, "slow", "*")); len(matches) != 0 {
		t.Errorf("a stopped job published %v", matches)
	}
}
