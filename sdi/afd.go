package sdi

import (
	"bytes"
	"errors"
	"math"
)

// AFD is an Active Format Description code (SMPTE ST 2016-1, ETSI TS 101 154
// annex B): it tells a receiver where the picture sits in the coded frame, so
// that a 4:3 set can cut a 16:9 letterbox, or a 16:9 set frame a pillarbox.
type AFD int

// The codes Kiln writes.
const (
	AFDBoxWide    AFD = 4  // box wider than 16:9, centred
	AFDFull       AFD = 8  // the picture fills the coded frame
	AFD4x3Centre  AFD = 9  // 4:3 picture, centred (pillarbox in 16:9)
	AFD16x9Centre AFD = 10 // 16:9 picture, centred (letterbox in 4:3)
	AFD14x9Centre AFD = 11 // 14:9 picture, centred
)

// Words says what the code means, for reports.
func (a AFD) Words() string {
	switch a {
	case AFDBoxWide:
		return "picture wider than 16:9, centred"
	case AFDFull:
		return "picture fills the frame"
	case AFD4x3Centre:
		return "4:3 picture centred (pillarbox)"
	case AFD16x9Centre:
		return "16:9 picture centred (letterbox)"
	case AFD14x9Centre:
		return "14:9 picture centred"
	}
	return "unknown"
}

// ChooseAFD returns the code for a picture of display aspect picture placed
// in a frame of display aspect frame (both width/height).
func ChooseAFD(picture, frame float64) AFD {
	near := func(a, b float64) bool { return math.Abs(a-b) < 0.03*b }
	switch {
	case near(picture, frame):
		return AFDFull
	case near(picture, 16.0/9):
		return AFD16x9Centre
	case near(picture, 14.0/9):
		return AFD14x9Centre
	case near(picture, 4.0/3):
		return AFD4x3Centre
	case picture > 16.0/9:
		return AFDBoxWide
	}
	return AFDFull
}

// afdData is afd_data() after the "DTG1" identifier: a zero bit, the
// active_format_flag, six reserved bits ('000001'), then four reserved ones
// and the code.
func afdData(a AFD) []byte { return []byte{0x41, 0xF0 | byte(a&0x0F)} }

var dtg1 = []byte("DTG1")

// InsertMPEG2AFD returns an MPEG-2 video picture (one encoded packet) with
// AFD user data (ATSC A/53 part 4) placed before its first slice, after the
// picture header and its extensions, as the syntax requires. A packet that
// holds no picture is returned unchanged.
func InsertMPEG2AFD(pkt []byte, a AFD) []byte {
	pic := bytes.Index(pkt, []byte{0, 0, 1, 0x00})
	if pic < 0 {
		return pkt
	}
	for i := pic + 4; i+3 < len(pkt); i++ {
		if pkt[i] == 0 && pkt[i+1] == 0 && pkt[i+2] == 1 && pkt[i+3] >= 0x01 && pkt[i+3] <= 0xAF {
			ud := append([]byte{0, 0, 1, 0xB2}, dtg1...)
			ud = append(ud, afdData(a)...)
			out := make([]byte, 0, len(pkt)+len(ud))
			out = append(out, pkt[:i]...)
			out = append(out, ud...)
			return append(out, pkt[i:]...)
		}
	}
	return pkt
}

// InsertH264AFD returns an H.264 access unit in Annex B form with an AFD SEI
// (user_data_registered_itu_t_t35, ATSC provider, "DTG1") placed before its
// first slice.
func InsertH264AFD(au []byte, a AFD) []byte {
	first := -1
	for _, n := range annexBNALs(au) {
		if t := au[n.payload] & 0x1F; t == 1 || t == 5 {
			first = n.start
			break
		}
	}
	if first < 0 {
		return au
	}
	payload := append([]byte{0xB5, 0x00, 0x31}, dtg1...) // USA, ATSC
	payload = append(payload, afdData(a)...)
	rbsp := append([]byte{4, byte(len(payload))}, payload...) // payload type 4
	rbsp = append(rbsp, 0x80)                                 // rbsp trailing bits
	nal := append([]byte{0, 0, 0, 1, 0x06}, escapeRBSP(rbsp)...)
	out := make([]byte, 0, len(au)+len(nal))
	out = append(out, au[:first]...)
	out = append(out, nal...)
	return append(out, au[first:]...)
}

// ErrNoAFD means a picture carries no AFD.
var ErrNoAFD = errors.New("no AFD in the picture")

// FindAFD reads the AFD of an encoded picture, MPEG-2 user data or H.264 SEI.
func FindAFD(pkt []byte) (AFD, error) {
	i := bytes.Index(pkt, dtg1)
	for i >= 0 {
		if i+len(dtg1)+2 <= len(pkt) {
			d := pkt[i+len(dtg1):]
			if d[0]&0x40 != 0 {
				return AFD(d[1] & 0x0F), nil
			}
		}
		next := bytes.Index(pkt[i+1:], dtg1)
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return 0, ErrNoAFD
}

type nalUnit struct{ start, payload int }

// annexBNALs lists the NAL units of an Annex B byte stream: where each start
// code begins and where its NAL header is.
func annexBNALs(b []byte) []nalUnit {
	var out []nalUnit
	for i := 0; i+3 < len(b); i++ {
		if b[i] == 0 && b[i+1] == 0 && b[i+2] == 1 {
			start := i
			if i > 0 && b[i-1] == 0 {
				start = i - 1
			}
			out = append(out, nalUnit{start: start, payload: i + 3})
			i += 2
		}
	}
	return out
}

// escapeRBSP inserts emulation-prevention bytes: no 00 00 0x (x ≤ 3) may
// appear inside a NAL unit.
func escapeRBSP(rbsp []byte) []byte {
	out := make([]byte, 0, len(rbsp)+4)
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		out = append(out, c)
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
	}
	return out
}
