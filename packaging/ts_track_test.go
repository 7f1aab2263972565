package packaging

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// tsPacketFor builds one 188-byte TS packet. rai sets random_access_indicator
// in an adaptation field, as libav does on a keyframe's first packet.
func tsPacketFor(pid int, pusi, rai bool, payload []byte) []byte {
	p := make([]byte, 0, tsPacket)
	b1 := byte(pid>>8) & 0x1f
	if pusi {
		b1 |= 0x40
	}
	p = append(p, 0x47, b1, byte(pid))
	if rai {
		p = append(p, 0x30, 1, 0x40) // adaptation field + payload
	} else {
		p = append(p, 0x10)
	}
	p = append(p, payload...)
	for len(p) < tsPacket {
		p = append(p, 0xff)
	}
	return p
}

// A PAT naming program 1 at PMT PID 0x1000, and a PMT with H.264 on 0x100.
var (
	testPAT = []byte{0, 0x00, 0xb0, 0x0d, 0, 1, 0xc1, 0, 0, 0, 1, 0xf0, 0x00, 0, 0, 0, 0}
	testPMT = []byte{0, 0x02, 0xb0, 0x12, 0, 1, 0xc1, 0, 0, 0xe1, 0x00, 0xf0, 0x00, 0x1b, 0xe1, 0x00, 0xf0, 0x00, 0, 0, 0, 0}
)

// testSegment is a TS segment of GOPs of three pictures, each PES two
// packets long: SDT, PAT, PMT, key, P, P, PAT, PMT, key, P, P.
func testSegment(gops int) []byte {
	var b []byte
	b = append(b, tsPacketFor(0x11, true, false, []byte{0})...)
	for g := 0; g < gops; g++ {
		b = append(b, tsPacketFor(0, true, false, testPAT)...)
		b = append(b, tsPacketFor(0x1000, true, false, testPMT)...)
		for pic := 0; pic < 3; pic++ {
			b = append(b, tsPacketFor(0x100, true, pic == 0, []byte{0, 0, 1, 0xe0})...)
			b = append(b, tsPacketFor(0x100, false, false, []byte{1, 2, 3})...)
		}
	}
	return b
}

func TestTSKeyframeRanges(t *testing.T) {
	ranges, err := tsKeyframeRanges(testSegment(2))
	if err != nil {
		t.Fatal(err)
	}
	// Each keyframe's range starts at its PAT (after the SDT) and ends where
	// the next picture's PES starts.
	want := []ByteRange{{Offset: 1 * tsPacket, Length: 4 * tsPacket}, {Offset: 9 * tsPacket, Length: 4 * tsPacket}}
	if len(ranges) != len(want) || ranges[0] != want[0] || ranges[1] != want[1] {
		t.Errorf("ranges %+v, want %+v", ranges, want)
	}
	if _, err := tsKeyframeRanges(testSegment(1)[:100]); err == nil {
		t.Error("a partial TS packet was accepted")
	}
	if _, err := tsKeyframeRanges(bytes.Repeat(tsPacketFor(0x100, true, true, nil), 3)); err == nil {
		t.Error("a segment without PAT and PMT was accepted")
	}
}

func TestTSTrackEncryptsAndRotatesKeys(t *testing.T) {
	dir := t.TempDir()
	keys, err := NewKeySchedule("https://keys.example.com/{job}/{key}.key", 42, 2, bytes.NewReader(bytes.Repeat([]byte{7, 1, 9}, 100)))
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTSTrack(dir, keys)
	seg := testSegment(2)
	for i := 0; i < 3; i++ {
		if err := tr.AddSegment(seg, int64(i)*360000, []int64{int64(i) * 360000, int64(i)*360000 + 180000}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Finish(3*360000 - 3600); err != nil {
		t.Fatal(err)
	}
	segs := tr.Segments()
	if len(segs) != 3 || segs[0].Duration != 360000 || segs[2].Duration != 356400 {
		t.Fatalf("segments %+v", segs)
	}
	// Two segments a key: segment 3 has the second key.
	if segs[0].Key != segs[1].Key || segs[2].Key == segs[1].Key || segs[2].Key.Number != 2 || segs[2].Key.FirstSegment != 3 {
		t.Errorf("keys: %+v %+v %+v", segs[0].Key, segs[1].Key, segs[2].Key)
	}
	if segs[2].Key.URI != "https://keys.example.com/42/2.key" {
		t.Errorf("key URI %s", segs[2].Key.URI)
	}
	for _, s := range segs {
		data, err := os.ReadFile(filepath.Join(dir, s.URI))
		if err != nil {
			t.Fatal(err)
		}
		if data[0] == 0x47 {
			t.Errorf("%s is in the clear", s.URI)
		}
		plain, err := DecryptSegment(s.Key, data)
		if err != nil || !bytes.Equal(plain, seg) {
			t.Errorf("%s does not decrypt to the segment: %v", s.URI, err)
		}
		if len(s.Keyframes) != 2 || s.Keyframes[1].Offset != 9*tsPacket || s.Keyframes[0].Duration != 180000 {
			t.Errorf("%s keyframes %+v", s.URI, s.Keyframes)
		}
	}
	if err := NewTSTrack(t.TempDir(), nil).AddSegment(seg, 0, []int64{0}); err == nil {
		t.Error("a segment with 2 keyframes was taken as having 1")
	}
}
