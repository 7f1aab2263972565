package sdi

import "bytes"

// SequenceEndCode is MPEG-2 video's sequence_end_code (ISO/IEC 13818-2
// 6.2.1). A stream must end with it; decoders built on libmpeg2 hold the
// last one or two pictures back until they see it, and drop them without it.
var SequenceEndCode = []byte{0x00, 0x00, 0x01, 0xB7}

// EndMPEG2Sequence returns the last encoded picture of an MPEG-2 video
// stream ending with a sequence_end_code.
//
// When the picture ends in at least four bytes of zero stuffing (a CBR
// encoder fills each picture to its size with zeros), the code takes the
// place of the last four: the picture keeps its size, which D-10 (SMPTE
// 356M) requires to be the same for every frame. That is safe: slice data
// never holds 23 zero bits in a row, so the picture's last coded bit lies
// before the stuffing, the start code stays byte-aligned and is preceded by
// at least 23 zero bits. Otherwise the code is appended. A picture that
// already ends with the code is returned unchanged. The input is not
// modified.
func EndMPEG2Sequence(picture []byte) []byte {
	if bytes.HasSuffix(picture, SequenceEndCode) {
		return picture
	}
	n := len(picture)
	if n > 4 && bytes.Equal(picture[n-4:], []byte{0, 0, 0, 0}) {
		out := bytes.Clone(picture)
		copy(out[n-4:], SequenceEndCode)
		return out
	}
	return append(bytes.Clone(picture), SequenceEndCode...)
}
