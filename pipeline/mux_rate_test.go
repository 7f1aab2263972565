package pipeline

import (
	"path/filepath"
	"strings"
	"testing"

	"kiln/job"
	"kiln/pipeline/plan"
)

// The CBR check reads the mux rate from the PCRs, not from the file's size
// over its duration. On short clips the size counts x264's initial VBV
// surplus: the 1 s 480i29.97 clip of the conformance matrix into
// ntsc-h264-43 came out 14% over its 6.1 Mb/s mux rate by size (the check
// allowed 12% on a 1 s clip, then 15%), while its PCRs ran at 6.1 Mb/s
// exactly. And the size let a stream that is not CBR at all pass on a
// short clip: the same output remuxed without a mux rate was within the
// allowance.
func TestCBRCheckReadsTheMuxRateFromPCRs(t *testing.T) {
	dir := t.TempDir()
	src := interlacedClip(t, dir, "i480.mpg", "720x480", "60000/1001", "tff",
		"-c:v", "mpeg2video", "-b:v", "8M", "-g", "15", "-bf", "2", "-flags", "+ildct+ilme", "-top", "1",
		"-aspect", "4:3", "-c:a", "mp2", "-b:a", "192k", "-f", "vob")
	p := testProfiles(t, `
[profile.ntsc-h264-43]
kind     = "broadcast"
standard = "ntsc"
codec    = "h264"
aspect   = "4:3"
fit      = "letterbox"
audio    = { codec = "ac3", bitrate = "192k", loudness = -24.0 }
`)["ntsc-h264-43"]
	report := runProfile(t, src, p, filepath.Join(dir, "out"))
	muxCheck := func(checks []job.Check) (job.Check, bool) {
		for _, c := range checks {
			if c.Name == "mux rate (CBR)" {
				return c, true
			}
		}
		return job.Check{}, false
	}
	c, ok := muxCheck(report.Checks)
	t.Logf("published: %s", c.Actual)
	if !ok || !c.Pass || !strings.HasPrefix(c.Actual, "61") {
		t.Errorf("the published output's mux rate check: %+v (found %v), want a pass at 6.1 Mb/s", c, ok)
	}

	// The same streams without a mux rate: a variable-rate TS.
	vbr := makeClip(t, filepath.Join(dir, "vbr.ts"), "-i", report.Outputs[0].Path, "-map", "0", "-c", "copy", "-f", "mpegts")
	info, err := Probe(src)
	if err != nil {
		t.Fatal(err)
	}
	pl, err := plan.Make(info, p, src)
	if err != nil {
		t.Fatal(err)
	}
	_, checks, err := verifyOutput(vbr, pl, transcodeStats{})
	if err != nil {
		t.Fatal(err)
	}
	c, ok = muxCheck(checks)
	t.Logf("remuxed without a mux rate: %s", c.Actual)
	if !ok || c.Pass {
		t.Errorf("a TS without a mux rate: mux rate check %+v (found %v), want a failure", c, ok)
	}
}
