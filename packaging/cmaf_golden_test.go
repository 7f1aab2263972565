package packaging

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"kiln/sdi"
)

// update rewrites the golden files instead of comparing with them:
// go test ./packaging/ -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The init segments are pinned as mp4ff's text dump of the file as written,
// headed by its size and SHA-256: a change to any box shows which field
// moved, and a change to any byte fails even where the dump does not show it.
func TestCMAFInitGolden(t *testing.T) {
	high, err := ParseAVCConfig(mustHex(t, x264Extradata))
	if err != nil {
		t.Fatal(err)
	}
	aac, err := ParseAAC(mustHex(t, "1190"), 128000)
	if err != nil {
		t.Fatal(err)
	}
	ac3, err := ParseAC3(mustHex(t, "0B77FE95144043E106F46370"), 192000)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		cfg  TrackConfig
	}{
		{"init_video_avc1", TrackConfig{Kind: "video", Timescale: 90000, Width: 640, Height: 360,
			SAR: sdi.Rational{Num: 1, Den: 1}, AVC: &high}},
		// An anamorphic PAL picture: tkhd states the square-pixel width.
		{"init_video_avc1_anamorphic", TrackConfig{Kind: "video", Timescale: 90000, Width: 720, Height: 576,
			SAR: sdi.Rational{Num: 16, Den: 15}, AVC: &high}},
		{"init_audio_mp4a", TrackConfig{Kind: "audio", Timescale: 48000, Audio: &aac, Language: "eng"}},
		{"init_audio_ac3", TrackConfig{Kind: "audio", Timescale: 48000, Audio: &ac3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, err := NewCMAFTrack(t.TempDir(), c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			init, err := tr.initSegment()
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.name, dumpMP4(t, init))
		})
	}
}

// dumpMP4 reads a file back with mp4ff and dumps every box and field.
func dumpMP4(t *testing.T, b []byte) []byte {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the file does not read back: %v", err)
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "# %d bytes, sha256 %x\n", len(b), sha256.Sum256(b))
	if err := f.Info(&out, "all:1", "", "  "); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// The first media segment of a video track (two GOPs, so two fragments, with
// B-frame composition offsets) and of an audio track is pinned the same way.
func TestCMAFSegmentGolden(t *testing.T) {
	high, err := ParseAVCConfig(mustHex(t, x264Extradata))
	if err != nil {
		t.Fatal(err)
	}
	aac, err := ParseAAC(mustHex(t, "1190"), 128000)
	if err != nil {
		t.Fatal(err)
	}
	var audio []Sample
	for i := 0; i < 20; i++ {
		pts := int64(i-1) * 1024
		audio = append(audio, Sample{PTS: pts, DTS: pts, Duration: 1024, Key: true, Data: []byte{0x21, byte(i)}})
	}
	for _, c := range []struct {
		name    string
		cfg     TrackConfig
		samples []Sample
	}{
		{"segment_video_avc1", TrackConfig{Kind: "video", Timescale: 90000, Lead: 9120, Width: 640, Height: 360, AVC: &high}, gopSamples(10, 5)},
		{"segment_audio_mp4a", TrackConfig{Kind: "audio", Timescale: 48000, Lead: 1024, Audio: &aac}, audio},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			tr, err := NewCMAFTrack(dir, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range c.samples {
				if err := tr.WriteSample(s, i == 0); err != nil {
					t.Fatal(err)
				}
			}
			if err := tr.Finish(); err != nil {
				t.Fatal(err)
			}
			seg, err := os.ReadFile(filepath.Join(dir, tr.Segments()[0].URI))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, c.name, dumpMP4(t, seg))
		})
	}
}

// checkGolden compares a dump with testdata/<name>.golden, or rewrites the
// file with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	golden := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\n%s", name, golden, got)
	}
}
