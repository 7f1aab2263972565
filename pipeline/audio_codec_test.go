package pipeline

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// An MP2 track of a couple of frames in a TS probes as mp3; the verifier
// must read the layer from the bitstream, or a 2-frame source's PAL
// output is quarantined for "audio 1 codec: expected mp2, got mp3".
func TestShortMP2ProbesAsLayerII(t *testing.T) {
	for _, c := range []struct {
		codec, want string
		seconds     string
	}{{"mp2", "mp2", "0.02"}, {"mp2", "mp2", "1"}, {"libmp3lame", "mp3", "0.02"}} {
		path := filepath.Join(t.TempDir(), "short.ts")
		// Two pictures of MPEG-2 and two audio frames, as Kiln's PAL output
		// of a 2-frame source has them.
		if b, err := exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-t", "0.08", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
			"-t", c.seconds, "-f", "lavfi", "-i", "sine=f=997:sample_rate=48000", "-map", "0:v", "-map", "1:a", "-c:v", "mpeg2video",
			"-c:a", c.codec, "-ac", "2", "-f", "mpegts", path).CombinedOutput(); err != nil {
			if c.codec == "libmp3lame" {
				t.Logf("no MP3 encoder in this ffmpeg: %v", err)
				continue
			}
			t.Fatalf("ffmpeg: %v\n%s", err, b)
		}
		info, err := Probe(path)
		if err != nil {
			t.Fatal(err)
		}
		a := info.AudioStreams()
		if len(a) != 1 {
			t.Fatalf("%d audio streams", len(a))
		}
		got, err := audioCodecOf(path, a[0])
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s for %s s: libav's probe says %s, the bitstream %s", c.codec, c.seconds, a[0].Codec, got)
		if got != c.want {
			t.Errorf("%s for %s s: audio codec %q, want %q", c.codec, c.seconds, got, c.want)
		}
	}
}
