package sdi

import (
	"bytes"
	"testing"
)

func TestChooseAFD(t *testing.T) {
	cases := []struct {
		picture, frame float64
		want           AFD
	}{
		{16.0 / 9, 16.0 / 9, AFDFull},
		{4.0 / 3, 4.0 / 3, AFDFull},
		{16.0 / 9, 4.0 / 3, AFD16x9Centre},
		{4.0 / 3, 16.0 / 9, AFD4x3Centre},
		{14.0 / 9, 4.0 / 3, AFD14x9Centre},
		{2.39, 16.0 / 9, AFDBoxWide},
	}
	for _, c := range cases {
		if got := ChooseAFD(c.picture, c.frame); got != c.want {
			t.Errorf("picture %.3f in frame %.3f: AFD %d, want %d", c.picture, c.frame, got, c.want)
		}
	}
}

// An MPEG-2 I picture as an encoder emits it: sequence header, GOP, picture
// header, picture coding extension, then slices.
var mpeg2Picture = []byte{
	0, 0, 1, 0xB3, 0x2D, 0x02, 0x40, 0x33, // sequence header (truncated)
	0, 0, 1, 0xB8, 0x00, 0x08, 0x00, 0x00, // GOP
	0, 0, 1, 0x00, 0x00, 0x0F, 0xFF, 0xF8, // picture header
	0, 0, 1, 0xB5, 0x8F, 0xFF, 0xF3, 0x41, // picture coding extension
	0, 0, 1, 0x01, 0x12, 0x34, // slice 1
	0, 0, 1, 0x02, 0x56, // slice 2
}

func TestMPEG2AFDRoundTrip(t *testing.T) {
	out := InsertMPEG2AFD(mpeg2Picture, AFD16x9Centre)
	ud := []byte{0, 0, 1, 0xB2, 'D', 'T', 'G', '1', 0x41, 0xFA}
	at := bytes.Index(out, ud)
	slice := bytes.Index(out, []byte{0, 0, 1, 0x01})
	ext := bytes.Index(out, []byte{0, 0, 1, 0xB5})
	if at < 0 || !(ext < at && at < slice) {
		t.Fatalf("user data at %d, extension at %d, first slice at %d:\n% x", at, ext, slice, out)
	}
	if got, err := FindAFD(out); err != nil || got != AFD16x9Centre {
		t.Errorf("FindAFD = %v, %v", got, err)
	}
	if len(out) != len(mpeg2Picture)+len(ud) || !bytes.Equal(out[slice:], mpeg2Picture[len(mpeg2Picture)-11:]) {
		t.Error("slices changed")
	}
	if got := InsertMPEG2AFD([]byte{0, 0, 1, 0xB3, 1, 2}, AFDFull); len(got) != 6 {
		t.Error("a packet without a picture must stay as it was")
	}
}

func TestH264AFDRoundTrip(t *testing.T) {
	au := []byte{
		0, 0, 0, 1, 0x09, 0xF0, // access unit delimiter
		0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1E, // SPS
		0, 0, 0, 1, 0x68, 0xEE, // PPS
		0, 0, 1, 0x65, 0x88, 0x84, // IDR slice
	}
	out := InsertH264AFD(au, AFD4x3Centre)
	sei := []byte{0, 0, 0, 1, 0x06, 0x04, 0x09, 0xB5, 0x00, 0x31, 'D', 'T', 'G', '1', 0x41, 0xF9, 0x80}
	at := bytes.Index(out, sei)
	idr := bytes.Index(out, []byte{0, 0, 1, 0x65})
	if at < 0 || at > idr || at < bytes.Index(out, []byte{0x68}) {
		t.Fatalf("SEI at %d, IDR at %d:\n% x", at, idr, out)
	}
	if got, err := FindAFD(out); err != nil || got != AFD4x3Centre {
		t.Errorf("FindAFD = %v, %v", got, err)
	}
	if _, err := FindAFD(au); err != ErrNoAFD {
		t.Errorf("FindAFD on a unit without AFD: %v", err)
	}
}

func TestEscapeRBSP(t *testing.T) {
	got := escapeRBSP([]byte{0, 0, 1, 0, 0, 0, 5, 0, 0})
	want := []byte{0, 0, 3, 1, 0, 0, 3, 0, 5, 0, 0}
	if !bytes.Equal(got, want) {
		t.Errorf("escape: % x, want % x", got, want)
	}
}

// FuzzAFD feeds arbitrary bitstreams to the writers and the reader: none may
// panic, and whatever the writers accept must read back.
func FuzzAFD(f *testing.F) {
	f.Add(mpeg2Picture, byte(10))
	f.Add([]byte{0, 0, 0, 1, 0x65, 0, 0, 1}, byte(9))
	f.Add([]byte{0, 0, 1}, byte(8))
	f.Fuzz(func(t *testing.T, data []byte, code byte) {
		a := AFD(code & 0x0F)
		out := InsertMPEG2AFD(data, a)
		if len(out) != len(data) {
			if got, err := FindAFD(out); err != nil || (bytes.Count(data, dtg1) == 0 && got != a) {
				t.Fatalf("MPEG-2 AFD did not read back: %v %v", got, err)
			}
		}
		out = InsertH264AFD(data, a)
		FindAFD(out)
	})
}
