package pipeline

import (
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"kiln/config"
	"kiln/job"
)

func TestLoudnessFilter(t *testing.T) {
	if chain, gain := loudnessFilter(Loudness{Integrated: -80, TruePeak: -70}, -23); chain != "" || gain != 0 {
		t.Errorf("silence got %q %v, want left alone", chain, gain)
	}
	chain, gain := loudnessFilter(Loudness{Integrated: -18, TruePeak: -3}, -23)
	if gain != -5 || chain != "volume=-5.00dB:precision=double" {
		t.Errorf("loud track: %q %v", chain, gain)
	}
	// Quiet with a high peak: the gain alone would clip, so a limiter follows.
	chain, gain = loudnessFilter(Loudness{Integrated: -40, TruePeak: -6}, -23)
	if gain != 17 || !strings.Contains(chain, "alimiter") {
		t.Errorf("quiet peaky track: %q %v, want +17 dB and a limiter", chain, gain)
	}
}

// TestLoudnessNormalisedEndToEnd runs a broadcast job on a quiet source with
// loud peaks and checks the report's before/after measurements.
func TestLoudnessNormalisedEndToEnd(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "quiet.mov")
	// Pink noise 15 dB down, plus full-scale clicks: integrated ≈ -30 LUFS,
	// true peak near 0 dBTP.
	out, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-f", "lavfi", "-i", "anoisesrc=color=pink:sample_rate=48000:amplitude=0.5:seed=7",
		"-f", "lavfi", "-i", "aevalsrc='if(lt(mod(t,2),0.0005),0.99,0)':s=48000",
		"-filter_complex", "[1:a]volume=-15dB[q];[q][2:a]amix=inputs=2:normalize=0,aformat=channel_layouts=stereo[a]",
		"-map", "0:v", "-map", "[a]", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", src).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, out)
	}
	target := -23.0
	p := config.Profile{Name: "pal", Kind: "broadcast", Standard: "pal", Codec: "mpeg2", Aspect: "16:9", Fit: "letterbox",
		Container: "ts", VideoBitrate: 4_000_000, FrameRateMethod: "dup", ScaleFilter: "lanczos",
		Audio: config.Audio{Codec: "mp2", Bitrate: 192_000, Loudness: &target}}
	report, err := Run(context.Background(), job.Spec{ID: 1, Source: src, Profile: p, OutputRoot: filepath.Join(dir, "out")}, nil)
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if len(report.Loudness) != 1 {
		t.Fatalf("loudness entries: %+v", report.Loudness)
	}
	l := report.Loudness[0]
	t.Logf("before %.2f LUFS / %.2f dBTP, gain %.2f dB (limited %v), after %.2f LUFS / %.2f dBTP",
		l.Before, l.TruePeakBefore, l.GainDB, l.Limited, l.After, l.TruePeakAfter)
	if l.Before > -27 {
		t.Errorf("source measured %.1f LUFS; the test source should be far below target", l.Before)
	}
	if !l.Limited {
		t.Error("a gain on full-scale clicks must be limited")
	}
	if math.Abs(l.After-target) > 1 {
		t.Errorf("after %.2f LUFS, want %.1f ± 1", l.After, target)
	}
	if l.TruePeakAfter > truePeakCeiling+1 {
		t.Errorf("true peak after %.2f dBTP, over the ceiling", l.TruePeakAfter)
	}
}
