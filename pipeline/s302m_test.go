package pipeline

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"kiln/config"
)

// `audio = { codec = "pcm" }` in a broadcast TS profile plans SMPTE 302M,
// which FFmpeg 5.1's encoder only opens with strict=experimental; without
// it every such job failed with "opening encoder s302m: Experimental
// feature". The output must carry 302M PCM that libav decodes to the end,
// at the loudness asked for.
func TestBroadcastTSCarriesPCMAsSMPTE302M(t *testing.T) {
	dir := t.TempDir()
	src := makeClip(t, filepath.Join(dir, "tone.mov"), "-t", "2", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-t", "2", "-f", "lavfi", "-i", "sine=f=997:sample_rate=48000", "-map", "0:v", "-map", "1:a",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "pcm_s16le", "-ac", "1")
	target := -23.0
	p := config.Profile{Name: "pal-pcm", Kind: "broadcast", Standard: "pal", Codec: "mpeg2", Aspect: "16:9", Fit: "letterbox",
		Container: "ts", VideoBitrate: 8_000_000, Audio: config.Audio{Codec: "pcm", Loudness: &target}}
	report := runProfile(t, src, p, filepath.Join(dir, "out"))
	out := report.Outputs[0].Path
	b, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name,channels",
		"-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	// ffprobe lists the stream once under its program and once alone.
	if got, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n"); got != "s302m,2" {
		t.Errorf("audio stream of %s is %q, want s302m with 2 channels (mono as dual mono)", filepath.Base(out), got)
	}
	// Decoded to the end: the last 302M packet starts within a picture of
	// the end of two seconds (302M packets carry no duration in TS).
	b, err = exec.Command("ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "packet=pts_time",
		"-of", "csv=p=0", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(strings.ReplaceAll(string(b), ",", " "))
	first, err1 := strconv.ParseFloat(lines[0], 64)
	last, err2 := strconv.ParseFloat(lines[len(lines)-1], 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("audio packet times %q … %q", lines[0], lines[len(lines)-1])
	}
	if got := last - first; got < 1.9 {
		t.Errorf("302M track's last packet starts %.3f s after its first, want about 2 s", got)
	}
}
