package pipeline

import (
	"path/filepath"
	"testing"

	"kiln/config"
)

// A variable-frame-rate source converted to a fixed rate must last as long
// as the source: its last picture lasts 1/15 s in the container, not the
// stream's nominal 1/30 s that the decoded frame carries, and the output
// used to end 1/30 s early, short of the source's duration by more than
// the verifier allows at 50p (quarantined).
func TestVariableRateSourceKeepsItsLastPicture(t *testing.T) {
	dir := t.TempDir()
	// One second at 30 fps, then one at 15 fps: 2.000 s in all. ffmpeg's
	// MP4 muxer gives the last sample the stream's nominal 1/30 s; the
	// remux gives it its 1/15 s, as the samples before it have.
	vfr := makeClip(t, filepath.Join(dir, "vfr-nominal-end.mp4"), "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
		"-vf", "setpts='if(lt(N,30),N/30,1+(N-30)/15)/TB'", "-frames:v", "45",
		"-vsync", "vfr", "-video_track_timescale", "600", "-c:v", "libx264", "-preset", "ultrafast")
	src := makeClip(t, filepath.Join(dir, "vfr.mp4"), "-i", vfr, "-c", "copy", "-bsf:v", "setts=duration='if(eq(N,44),2*DURATION,DURATION)'")
	for rate, want := range map[string]int{"50": 100, "25": 50} {
		t.Run(rate, func(t *testing.T) {
			p := config.Profile{Name: "fixed" + rate, Kind: "file", Codec: "h264", Container: "mp4", FrameRate: rate, FrameRateMethod: "dup"}
			out := runProfile(t, src, p, filepath.Join(dir, rate)).Outputs[0].Path
			if got := libavPictures(t, out); got != want {
				t.Errorf("%s holds %d pictures at %s fps, want %d (2.000 s)", filepath.Base(out), got, rate, want)
			}
		})
	}
}
