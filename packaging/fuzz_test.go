package packaging

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The readers below parse files Kiln wrote, but a damaged disk or a
// hand-edited package must give an error, never a crash.

func FuzzTSKeyframeRanges(f *testing.F) {
	f.Add(testSegment(2))
	f.Add(testSegment(1)[:tsPacket*3])
	f.Add([]byte{0x47, 0x40, 0x00, 0x10, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		ranges, err := tsKeyframeRanges(data)
		if err != nil {
			return
		}
		for _, r := range ranges {
			if r.Offset < 0 || r.Length <= 0 || r.Offset+r.Length > int64(len(data)) {
				t.Fatalf("range %+v outside %d bytes", r, len(data))
			}
		}
	})
}

func FuzzReadFragments(f *testing.F) {
	// Seed with a real CMAF segment.
	dir := f.TempDir()
	avc, _ := ParseAVCConfig([]byte{0, 0, 0, 1, 0x67, 0x42, 0, 0x1e, 0, 0, 0, 1, 0x68, 0xce})
	tr, _ := NewCMAFTrack(dir, TrackConfig{Kind: "video", Timescale: 90000, AVC: &avc})
	for i := 0; i < 10; i++ {
		tr.WriteSample(Sample{PTS: int64(i) * 3600, DTS: int64(i) * 3600, Duration: 3600, Key: i%5 == 0, Data: []byte{0, 0, 1, 0x65}}, i == 0)
	}
	tr.Finish()
	seg, _ := os.ReadFile(filepath.Join(dir, "seg-00001.m4s"))
	if len(seg) > 8 {
		f.Add(seg)
	}
	f.Add([]byte{0, 0, 0, 8, 'm', 'o', 'o', 'f'})
	f.Add([]byte{0, 0, 0, 16, 'm', 'o', 'o', 'f', 0, 0, 0, 8, 't', 'r', 'a', 'f'})
	f.Fuzz(func(t *testing.T, data []byte) {
		frags, err := readFragments(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, fr := range frags {
			if fr.Offset < 0 || fr.Size <= 0 || fr.Offset+fr.Size > int64(len(data)) {
				t.Fatalf("fragment %+v outside %d bytes", fr, len(data))
			}
		}
	})
}
