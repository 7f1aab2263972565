package pipeline

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// A 5.1 source whose decoder gives floating-point samples (AAC), into
// broadcast outputs whose encoders take integers (PCM in MXF and D-10, MP2
// in TS): the downmix must be the same for the loudness meter as for the
// output. libswresample scales a downmix matrix only when it converts to
// integers, so the output came out 7.7 dB under the meter's reading and a
// 1 s 1080p23.976 clip into SECAM MXF was quarantined ("audio 1 loudness:
// expected -23.0 LUFS ± 1, got -30.7 LUFS"). The short-sound source is the
// conformance matrix's: ffmpeg's -frames:v cut its sound at 0.19 s, so the
// MXF plan pads it, and the padded track is what must reach the target;
// a TS carries it as it is, shorter than BS.1770's 400 ms gating block, and
// it was measured at -70 LUFS, called silent and left alone.
func TestLoudnessOfFloatDownmixIntoIntegerEncoders(t *testing.T) {
	dir := t.TempDir()
	var ch []string
	for _, f := range []int{440, 554, 659, 80, 330, 392} {
		ch = append(ch, fmt.Sprintf("0.25*sin(2*PI*%d*t)*(0.6+0.4*sin(2*PI*1.3*t))", f))
	}
	sound := "aevalsrc=" + strings.Join(ch, "|") + ":s=48000:c=5.1"
	picture := "testsrc2=size=320x240:rate=24000/1001"
	full := makeClip(t, filepath.Join(dir, "surround-aac.mp4"), "-f", "lavfi", "-i", picture, "-t", "1.001", "-f", "lavfi", "-i", sound,
		"-map", "0:v", "-map", "1:a", "-t", "1.001", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")
	short := makeClip(t, filepath.Join(dir, "short-surround-aac.mp4"), "-f", "lavfi", "-i", picture, "-t", "0.19", "-f", "lavfi", "-i", sound,
		"-map", "0:v", "-map", "1:a", "-frames:v", "24", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")
	// The conformance matrix's 2-frame file: 21 ms of sound (one AAC frame)
	// is all ffmpeg kept, too short to measure: left alone, and said so.
	tiny := makeClip(t, filepath.Join(dir, "tiny-surround-aac.mp4"), "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-t", "0.08", "-f", "lavfi", "-i", sound,
		"-map", "0:v", "-map", "1:a", "-frames:v", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac")
	profiles := testProfiles(t, `
[profile.secam-mxf]
kind      = "broadcast"
standard  = "secam"
codec     = "mpeg2"
container = "mxf"
aspect    = "4:3"
fit       = "crop"

[profile.pal-imx50]
kind     = "broadcast"
standard = "pal"
codec    = "d10"
aspect   = "16:9"
fit      = "letterbox"

[profile.pal-mpeg2]
kind     = "broadcast"
standard = "pal"
codec    = "mpeg2"
aspect   = "16:9"
fit      = "letterbox"
audio    = { codec = "mp2", bitrate = "256k" }
`)
	for _, c := range []struct{ src, profile string }{
		{full, "secam-mxf"}, {full, "pal-imx50"}, {full, "pal-mpeg2"}, {short, "secam-mxf"}, {short, "pal-mpeg2"}, {tiny, "pal-mpeg2"}, {tiny, "secam-mxf"},
	} {
		name := strings.TrimSuffix(filepath.Base(c.src), ".mp4") + "→" + c.profile
		t.Run(name, func(t *testing.T) {
			report := runProfile(t, c.src, profiles[c.profile], filepath.Join(dir, name))
			if len(report.Loudness) != 1 {
				t.Fatalf("loudness entries: %+v", report.Loudness)
			}
			l := report.Loudness[0]
			if c.src == tiny {
				if l.Before > silence || !strings.Contains(strings.Join(report.Warnings, "\n"), "too short to measure its loudness") {
					t.Errorf("a 21 ms track: loudness %+v, warnings %q; want it left alone, with a warning that says why", l, report.Warnings)
				}
				return
			}
			t.Logf("before %.2f LUFS, gain %.2f dB, after %.2f LUFS / %.2f dBTP", l.Before, l.GainDB, l.After, l.TruePeakAfter)
			if math.Abs(l.After-l.Target) > 1 || l.Before <= silence {
				t.Errorf("after %.2f LUFS, want %.1f ± 1", l.After, l.Target)
			}
		})
	}
}
