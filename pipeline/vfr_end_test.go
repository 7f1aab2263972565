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

// A variable-frame-rate source converted to a fixed rate must last as long
// as the source: its last picture lasts 1/15 s in the container, not the
// stream's nominal 1/30 s that the decoded frame carries, and the output
// used to end 1/30 s early, short of the source's duration by more than
// the verifier allows at 50p (quarantined).
func TestVariableRateSourceKeepsItsLastPicture(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "vfr.mp4")
	// One second at 30 fps, then one at 15 fps: 2.000 s in all. ffmpeg's
	// MP4 muxer gives the last sample the stream's nominal 1/30 s; the
	// remux gives it its 1/15 s, as the samples before it have.
	vfr := filepath.Join(dir, "vfr-nominal-end.mp4")
	for _, args := range [][]string{
		{"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30", "-vf", "setpts='if(lt(N,30),N/30,1+(N-30)/15)/TB'", "-frames:v", "45",
			"-vsync", "vfr", "-video_track_timescale", "600", "-c:v", "libx264", "-preset", "ultrafast", vfr},
		{"-i", vfr, "-c", "copy", "-bsf:v", "setts=duration='if(eq(N,44),2*DURATION,DURATION)'", src},
	} {
		if b, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, b)
		}
	}
	for _, rate := range []string{"50", "25"} {
		t.Run(rate, func(t *testing.T) {
			p := config.Profile{Name: "fixed" + rate, Kind: "file", Codec: "h264", Container: "mp4", FrameRate: rate, FrameRateMethod: "dup"}
			report, err := Run(context.Background(), job.Spec{ID: 11, Source: src, Profile: p, OutputRoot: filepath.Join(dir, rate)}, nil)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			out := report.Outputs[0].Path
			b, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", out).Output()
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"50": "100", "25": "50"}[rate]
			if got := strings.Trim(string(b), ", \n"); got != want {
				t.Errorf("%s holds %s pictures at %s fps, want %s (2.000 s)", filepath.Base(out), got, rate, want)
			}
		})
	}
}
