package packaging

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"kiln/sdi"
)

// gopSamples makes n pictures at 25 fps on a 90 kHz clock, coded as
// I P B B P B B … with two frames of reorder delay, as x264 stamps them:
// keyframes every gop pictures.
func gopSamples(n, gop int) []Sample {
	const d = 3600
	var out []Sample
	for i := 0; i < n; i++ {
		// Decode order i shows picture p.
		p := i
		switch {
		case i%gop == 0:
		case (i%gop)%3 == 1:
			p = i + 2 // P before the two B it anchors
		default:
			p = i - 1
		}
		if p >= n || (p/gop) != (i/gop) {
			p = i
		}
		nal := []byte{0, 0, 0, 1, 0x41, byte(i)}
		if i%gop == 0 {
			nal = []byte{0, 0, 0, 1, 0x65, byte(i), 0x80}
		}
		out = append(out, Sample{PTS: int64(p) * d, DTS: int64(i-2) * d, Duration: d, Key: i%gop == 0, Data: nal})
	}
	return out
}

func TestCMAFVideoTrack(t *testing.T) {
	dir := t.TempDir()
	avc, err := ParseAVCConfig(mustHex(t, x264Extradata))
	if err != nil {
		t.Fatal(err)
	}
	// The lead covers the audio priming (1920) and the two pictures by which
	// gopSamples decodes ahead of presentation (7200).
	tr, err := NewCMAFTrack(dir, TrackConfig{Kind: "video", Timescale: 90000, Lead: 9120, Width: 640, Height: 360,
		SAR: sdi.Rational{Num: 1, Den: 1}, AVC: &avc})
	if err != nil {
		t.Fatal(err)
	}
	// 100 pictures, GOPs of 25, segments of 50: two segments of two GOPs.
	for i, s := range gopSamples(100, 25) {
		if err := tr.WriteSample(s, i%50 == 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Finish(); err != nil {
		t.Fatal(err)
	}
	segs := tr.Segments()
	if len(segs) != 2 {
		t.Fatalf("%d segments, want 2", len(segs))
	}
	for i, s := range segs {
		// Presentation times carry the lead; each segment lasts 2 s.
		if s.Start != 9120+int64(i)*180000 || s.Duration != 180000 {
			t.Errorf("segment %d: start %d duration %d", i+1, s.Start, s.Duration)
		}
		if len(s.Keyframes) != 2 || s.Keyframes[0].Offset == 0 || s.Keyframes[1].Time != s.Start+90000 || s.Keyframes[0].Duration != 90000 {
			t.Errorf("segment %d keyframes %+v", i+1, s.Keyframes)
		}
		frags, err := ReadFragments(filepath.Join(dir, s.URI))
		if err != nil {
			t.Fatal(err)
		}
		if len(frags) != 2 {
			t.Fatalf("segment %d has %d fragments, want one per GOP", i+1, len(frags))
		}
		for j, f := range frags {
			// A fragment's keyframe is decoded two pictures before it is
			// shown, as the encoder stamped it, and a player reading decode
			// time plus composition offset shows it at its time.
			if !f.Sync || f.Samples != 25 || f.Presentation != s.Keyframes[j].Time || f.Time != uint64(s.Keyframes[j].Time-7200) || f.Duration != 90000 {
				t.Errorf("segment %d fragment %d: %+v", i+1, j+1, f)
			}
			if f.Offset != s.Keyframes[j].Offset {
				t.Errorf("keyframe %d of segment %d at %d, its moof at %d", j+1, i+1, s.Keyframes[j].Offset, f.Offset)
			}
		}
		// No negative composition offsets, which players read differently:
		// version 0 trun, unsigned offsets.
		b, _ := os.ReadFile(filepath.Join(dir, s.URI))
		file, err := mp4.DecodeFile(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		for _, seg := range file.Segments {
			for _, frag := range seg.Fragments {
				if trun := frag.Moof.Traf.Trun; trun.Version != 0 {
					t.Errorf("segment %d: a version %d trun", i+1, trun.Version)
				}
			}
		}
		if !bytes.Contains(b, []byte{0, 0, 0, 3, 0x65}) {
			t.Errorf("segment %d: the IDR is not length-prefixed", i+1)
		}
	}
	init, err := os.ReadFile(filepath.Join(dir, CMAFInit))
	if err != nil {
		t.Fatal(err)
	}
	file, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil {
		t.Fatal(err)
	}
	if file.Init == nil || file.Init.Ftyp == nil || file.Init.Moov.Mvex == nil || file.Init.Moov.Mvex.Trex == nil {
		t.Fatal("init segment lacks ftyp, moov, mvex or trex")
	}
	avc1 := file.Init.Moov.Trak.Mdia.Minf.Stbl.Stsd.AvcX
	if avc1 == nil || avc1.Type() != "avc1" || avc1.AvcC == nil || avc1.Pasp == nil {
		t.Errorf("init segment's sample entry %+v lacks avc1, avcC or pasp", avc1)
	}
}

func TestCMAFAudioTrackStartsAtZero(t *testing.T) {
	dir := t.TempDir()
	cfg, err := ParseAAC(mustHex(t, "1190"), 128000)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewCMAFTrack(dir, TrackConfig{Kind: "audio", Timescale: 48000, Lead: 1024, Audio: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	// The encoder's priming packet is stamped at -1024: the lead moves it
	// to zero.
	for i := 0; i < 200; i++ {
		pts := int64(i-1) * 1024
		if err := tr.WriteSample(Sample{PTS: pts, DTS: pts, Duration: 1024, Key: true, Data: []byte{0x21, byte(i)}}, i == 100); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Finish(); err != nil {
		t.Fatal(err)
	}
	segs := tr.Segments()
	if len(segs) != 2 || segs[0].Start != 0 || segs[0].Duration != 100*1024 || segs[1].Start != 100*1024 {
		t.Fatalf("segments %+v", segs)
	}
	frags, err := ReadFragments(filepath.Join(dir, segs[0].URI))
	if err != nil || len(frags) != 1 || frags[0].Time != 0 || frags[0].Samples != 100 {
		t.Errorf("audio fragments %+v (%v)", frags, err)
	}
	init, _ := os.ReadFile(filepath.Join(dir, CMAFInit))
	file, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil {
		t.Fatal(err)
	}
	if mp4a := file.Init.Moov.Trak.Mdia.Minf.Stbl.Stsd.Mp4a; mp4a == nil || mp4a.Esds == nil {
		t.Error("audio init segment lacks mp4a/esds")
	}
}

func TestCMAFTrackRefusesTimeBeforeZero(t *testing.T) {
	cfg, _ := ParseAAC(mustHex(t, "1190"), 128000)
	tr, err := NewCMAFTrack(t.TempDir(), TrackConfig{Kind: "audio", Timescale: 48000, Audio: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.WriteSample(Sample{PTS: -1024, DTS: -1024, Duration: 1024, Key: true, Data: []byte{1}}, true); err == nil {
		t.Error("a sample before zero without a lead was accepted")
	}
	// A video track whose first picture decodes before zero (a lead short
	// of the encoder's reorder delay), or a sample shown before it is
	// decoded, would need a negative offset: refused.
	avc, err := ParseAVCConfig(mustHex(t, x264Extradata))
	if err != nil {
		t.Fatal(err)
	}
	video := TrackConfig{Kind: "video", Timescale: 90000, Lead: 1920, Width: 640, Height: 360, AVC: &avc}
	tr, _ = NewCMAFTrack(t.TempDir(), video)
	if err := tr.WriteSample(gopSamples(3, 3)[0], true); err == nil {
		t.Error("a video track decoding before zero was accepted")
	}
	video.Lead = 9120
	tr, _ = NewCMAFTrack(t.TempDir(), video)
	if err := tr.WriteSample(gopSamples(3, 3)[0], true); err != nil {
		t.Errorf("a lead that covers the reorder delay: %v", err)
	}
	if err := tr.WriteSample(Sample{PTS: 0, DTS: 3600, Duration: 3600, Data: []byte{0, 0, 0, 1, 0x41}}, false); err == nil {
		t.Error("a sample shown before it is decoded was accepted")
	}
	if _, err := NewCMAFTrack(t.TempDir(), TrackConfig{Kind: "video", Timescale: 90000}); err == nil {
		t.Error("a video track without an H.264 configuration was accepted")
	}
}
