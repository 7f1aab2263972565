package pipeline

import (
	"path/filepath"
	"testing"
)

// A broadcast TS must deliver every picture into the decoder's buffer by
// its decode time, on the stream's own clock (the T-STD of ISO/IEC
// 13818-1). libav's TS muxer gives the pictures no lead over the PCRs
// unless it is told the delay (max_delay), and x264's CBR starts its
// buffer 90% full: the last picture of a 1 s 480i H.264 output arrived
// 0.14 s after its decode time, which underflows a hardware decoder while
// every software player waits for it.
func TestBroadcastTSDeliversPicturesByTheirDecodeTime(t *testing.T) {
	dir := t.TempDir()
	ntsc := interlacedClip(t, dir, "i480.mpg", "720x480", "60000/1001", "tff",
		"-c:v", "mpeg2video", "-b:v", "8M", "-g", "15", "-bf", "2", "-flags", "+ildct+ilme", "-top", "1",
		"-aspect", "4:3", "-c:a", "mp2", "-b:a", "192k", "-f", "vob")
	pal := interlacedClip(t, dir, "i1080.ts", "1920x1080", "50", "tff",
		"-c:v", "libx264", "-preset", "ultrafast", "-flags", "+ildct+ilme", "-x264-params", "tff=1", "-c:a", "aac", "-f", "mpegts")
	profiles := testProfiles(t, `
[profile.ntsc-h264-43]
kind     = "broadcast"
standard = "ntsc"
codec    = "h264"
aspect   = "4:3"
fit      = "letterbox"
audio    = { codec = "ac3", bitrate = "192k" }

[profile.pal-mpeg2]
kind     = "broadcast"
standard = "pal"
codec    = "mpeg2"
aspect   = "16:9"
audio    = { codec = "mp2", bitrate = "256k" }
`)
	for _, c := range []struct{ profile, src string }{{"ntsc-h264-43", ntsc}, {"pal-mpeg2", pal}} {
		t.Run(c.profile, func(t *testing.T) {
			// runProfile fails the test when the job fails, and a failed
			// check fails the job (quarantined).
			report := runProfile(t, c.src, profiles[c.profile], filepath.Join(dir, c.profile))
			found := false
			for _, ch := range report.Checks {
				if ch.Name == "video delivery (T-STD)" {
					found = true
					t.Logf("%s: %s", ch.Name, ch.Actual)
				}
			}
			if !found {
				t.Errorf("no video delivery check in the report")
			}
		})
	}
}
