package intake

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// box builds an ISO BMFF box with a 32-bit size.
func box(typ string, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
	return append(append(b, typ...), payload...)
}

// boxSized builds a box header that claims size bytes, followed by payload.
func boxSized(typ string, size uint32, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, size)
	return append(append(b, typ...), payload...)
}

// largeBox builds a box with a 64-bit largesize claiming size bytes.
func largeBox(typ string, size uint64, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, 1)
	b = append(b, typ...)
	b = binary.BigEndian.AppendUint64(b, size)
	return append(b, payload...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var (
	ftyp = box("ftyp", []byte("isom\x00\x00\x02\x00isomiso2mp41"))
	moov = box("moov", box("mvhd", make([]byte, 100)))
	mdat = box("mdat", bytes.Repeat([]byte{0xab}, 1000))
)

// tsPackets builds n packets of the given layout, each with its sync byte.
func tsPackets(n int, l tsLayout) []byte {
	var b []byte
	for i := 0; i < n; i++ {
		p := make([]byte, l.size)
		p[l.sync] = tsSync
		p[l.sync+1] = 0x1f // PID 0x1fff, null packets
		p[l.sync+2] = 0xff
		b = append(b, p...)
	}
	return b
}

// mxfKey is the 16-byte key of a partition pack (or the RIP) of the given
// kind.
func mxfKey(kind byte) []byte {
	k := append([]byte(nil), partitionKeyPrefix...)
	return append(k, kind, 0x04, 0x00)
}

// mxfPartition builds a partition pack whose value is 88 bytes: the fields up
// to IndexByteCount as given, the rest zero.
func mxfPartition(kind byte, this, footer, headerBytes, indexBytes uint64) []byte {
	v := make([]byte, 88)
	binary.BigEndian.PutUint16(v[0:], 1)
	binary.BigEndian.PutUint16(v[2:], 3)
	binary.BigEndian.PutUint32(v[4:], 1)
	binary.BigEndian.PutUint64(v[8:], this)
	binary.BigEndian.PutUint64(v[24:], footer)
	binary.BigEndian.PutUint64(v[32:], headerBytes)
	binary.BigEndian.PutUint64(v[40:], indexBytes)
	return cat(mxfKey(kind), []byte{0x83, 0, 0, 88}, v)
}

// mxfRIP builds a Random Index Pack listing the given partition offsets.
func mxfRIP(offsets ...uint64) []byte {
	var pairs []byte
	for i, off := range offsets {
		pairs = binary.BigEndian.AppendUint32(pairs, uint32(i))
		pairs = binary.BigEndian.AppendUint64(pairs, off)
	}
	n := len(pairs) + 4
	b := cat(mxfKey(ripKind), []byte{byte(n)}, pairs)
	return binary.BigEndian.AppendUint32(b, uint32(len(b)+4))
}

// mxfFile builds run-in, header partition with metadata, essence and, when
// withFooter, a footer partition with header metadata and then a RIP. The
// header partition pack records the footer's offset unless hideFooter.
func mxfFile(runIn int, withFooter, withRIP, hideFooter bool) []byte {
	metadata := bytes.Repeat([]byte{0x01}, 300)
	essence := bytes.Repeat([]byte{0x02}, 5000)
	headerLen := len(mxfPartition(partitionHeader, 0, 0, 0, 0))
	footerOff := uint64(headerLen + len(metadata) + len(essence))
	headerFooterOff := footerOff
	if !withFooter || hideFooter {
		headerFooterOff = 0
	}
	b := cat(bytes.Repeat([]byte{0x00}, runIn),
		mxfPartition(partitionHeader, 0, headerFooterOff, uint64(len(metadata)), 0), metadata, essence)
	if withFooter {
		b = cat(b, mxfPartition(partitionFooter, footerOff, footerOff, uint64(len(metadata)), 0), metadata)
		if withRIP {
			b = cat(b, mxfRIP(0, footerOff))
		}
	}
	return b
}

type completenessCase struct {
	name     string
	data     []byte
	complete bool
	format   string
	reason   string // a part of the expected reason
}

func completenessCases() []completenessCase {
	ts := tsLayouts[0]
	m2ts := tsLayouts[1]
	ts204 := tsLayouts[2]
	badLast := tsPackets(10, ts)
	badLast[9*188] = 0x00
	fullMXF := mxfFile(0, true, true, false)
	return []completenessCase{
		{"empty", nil, false, "", "empty file"},

		{"mp4 moov first", cat(ftyp, moov, mdat), true, formatISOBMFF, ""},
		{"mp4 moov last", cat(ftyp, mdat, moov), true, formatISOBMFF, ""},
		{"mp4 no moov", cat(ftyp, mdat), false, formatISOBMFF, "no moov atom yet"},
		{"mp4 mdat truncated", cat(ftyp, moov, mdat[:600]), false, formatISOBMFF, `"mdat" box at byte`},
		{"mp4 moov truncated", cat(ftyp, mdat, moov[:50]), false, formatISOBMFF, `"moov" box`},
		{"mp4 header cut", cat(ftyp, moov, mdat, []byte{0, 0, 0}), false, formatISOBMFF, "box header at byte"},
		{"mp4 mdat to end of file", cat(ftyp, moov, boxSized("mdat", 0, make([]byte, 500))), true, formatISOBMFF, ""},
		{"mp4 recording, mdat to end, no moov", cat(ftyp, boxSized("mdat", 0, make([]byte, 500))), false, formatISOBMFF, "no moov"},
		{"mp4 largesize", cat(ftyp, largeBox("mdat", 16+200, make([]byte, 200)), moov), true, formatISOBMFF, ""},
		{"mp4 largesize truncated", cat(ftyp, moov, largeBox("mdat", 1<<33, make([]byte, 200))), false, formatISOBMFF, "needs 8589934592 bytes"},
		{"mp4 largesize header cut", cat(ftyp, moov, []byte{0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0}), false, formatISOBMFF, "header at byte"},
		{"mov starting with wide", cat(box("wide", nil), mdat, moov), true, formatISOBMFF, ""},
		{"mp4 trailing zero padding", cat(ftyp, moov, mdat, make([]byte, 64)), true, formatISOBMFF, ""},
		{"mp4 trailing garbage", cat(ftyp, moov, mdat, []byte{0xff, 0xfe, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07}), true, formatISOBMFF, ""},
		{"mp4 damaged size", cat(ftyp, moov, boxSized("free", 3, nil)), true, formatISOBMFF, ""},

		{"ts whole", tsPackets(10, ts), true, "MPEG-TS", ""},
		{"ts cut", tsPackets(10, ts)[:1000], false, "MPEG-TS", "TS size 1000 is not a multiple of 188 bytes"},
		{"ts last packet without sync", badLast, false, "MPEG-TS", "sync byte"},
		{"m2ts whole", tsPackets(10, m2ts), true, "M2TS", ""},
		{"m2ts cut", tsPackets(10, m2ts)[:1900], false, "M2TS", "M2TS size 1900 is not a multiple of 192 bytes"},
		{"ts 204 whole", tsPackets(10, ts204), true, "MPEG-TS", ""},
		{"ts 204 cut", tsPackets(10, ts204)[:2000], false, "MPEG-TS", "multiple of 204"},
		{"single 0x47 is not a TS", append([]byte{tsSync}, make([]byte, 300)...), true, "", ""},
		{"gif", append([]byte("GIF89a"), make([]byte, 500)...), true, "", ""},

		{"mxf with footer and RIP", fullMXF, true, formatMXF, ""},
		{"mxf footer found by RIP only", mxfFile(0, true, true, true), true, formatMXF, ""},
		{"mxf footer found by header only", mxfFile(0, true, false, false), true, formatMXF, ""},
		{"mxf footer found by searching", mxfFile(0, true, false, true), true, formatMXF, ""},
		{"mxf after a run-in", mxfFile(1000, true, true, false), true, formatMXF, ""},
		{"mxf after a run-in, searched", mxfFile(1000, true, false, true), true, formatMXF, ""},
		{"mxf without footer", mxfFile(0, false, false, false), false, formatMXF, "MXF footer partition missing"},
		{"mxf footer cut short", fullMXF[:len(fullMXF)-len(mxfRIP(0, 0))-100], false, formatMXF, "cut short"},
		{"mxf footer pack cut", fullMXF[:len(fullMXF)-len(mxfRIP(0, 0))-300-50], false, formatMXF, "cut short"},
		{"mxf header only", mxfPartition(partitionHeader, 0, 0, 0, 0), false, formatMXF, "footer partition missing"},

		{"matroska", append([]byte{0x1a, 0x45, 0xdf, 0xa3}, make([]byte, 100)...), true, "", ""},
		{"mpeg-ps", append([]byte{0x00, 0x00, 0x01, 0xba}, make([]byte, 100)...), true, "", ""},
		{"one byte", []byte{0x47}, true, "", ""},
		{"text", []byte("hello, this is not a video"), true, "", ""},
	}
}

func writeTemp(t testing.TB, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "clip")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckComplete(t *testing.T) {
	for _, tc := range completenessCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckComplete(writeTemp(t, tc.data))
			if err != nil {
				t.Fatal(err)
			}
			if got.Complete != tc.complete || got.Format != tc.format {
				t.Fatalf("got %+v, want complete=%v format=%q", got, tc.complete, tc.format)
			}
			if tc.complete && got.Reason != "" {
				t.Errorf("complete but with reason %q", got.Reason)
			}
			if !tc.complete && !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", got.Reason, tc.reason)
			}
		})
	}
}

func TestCheckCompleteErrors(t *testing.T) {
	if _, err := CheckComplete(filepath.Join(t.TempDir(), "missing.mxf")); err == nil {
		t.Error("no error for a missing file")
	}
	if _, err := CheckComplete(t.TempDir()); err == nil {
		t.Error("no error for a folder")
	}
}

func FuzzCheckComplete(f *testing.F) {
	for _, tc := range completenessCases() {
		f.Add(tc.data)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "fuzz")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := CheckComplete(p)
		if err != nil {
			t.Fatalf("a readable file gave an error: %v", err)
		}
		if got.Complete != (got.Reason == "") {
			t.Fatalf("complete=%v with reason %q: an incomplete file must say why", got.Complete, got.Reason)
		}
	})
}
