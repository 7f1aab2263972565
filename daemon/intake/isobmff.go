package intake

import (
	"encoding/binary"
	"io"
)

const formatISOBMFF = "MP4/MOV"

// isoFirstBoxes are the box types an MP4, MOV, 3GP or CMAF file may start
// with. Old QuickTime files can open with mdat, wide or free.
var isoFirstBoxes = map[string]bool{
	"ftyp": true, "styp": true, "moov": true, "mdat": true, "free": true,
	"skip": true, "wide": true, "pnot": true, "uuid": true, "pdin": true,
	"sidx": true, "moof": true, "junk": true,
}

func isISOBMFF(head []byte) bool {
	if len(head) < 8 || !isoFirstBoxes[string(head[4:8])] {
		return false
	}
	size := binary.BigEndian.Uint32(head)
	return size == 0 || size == 1 || size >= 8
}

// checkISOBMFF walks the top-level boxes. A file still being copied ends
// inside a box (or inside a box header); a file still being recorded by a
// muxer that writes its index last has no moov yet.
func checkISOBMFF(r io.ReaderAt, size int64) (Completeness, error) {
	var (
		off  int64
		moov bool
	)
	for off < size {
		left := size - off
		if left < 8 {
			return incomplete(formatISOBMFF, "the box header at byte %d is cut short: the file is truncated or still being copied", off), nil
		}
		hdr, err := readAt(r, off, 8)
		if err != nil {
			return Completeness{}, err
		}
		typ := hdr[4:8]
		if !printableFourCC(typ) {
			// Not a box: trailing bytes some tools leave after the last box.
			// More data cannot turn them into one, so stop here.
			break
		}
		boxSize := uint64(binary.BigEndian.Uint32(hdr))
		headerLen := uint64(8)
		switch boxSize {
		case 0: // the box runs to the end of the file
			boxSize = uint64(left)
		case 1: // a 64-bit size follows the type
			if left < 16 {
				return incomplete(formatISOBMFF, "the %q box header at byte %d is cut short: the file is truncated or still being copied", typ, off), nil
			}
			large, err := readAt(r, off+8, 8)
			if err != nil {
				return Completeness{}, err
			}
			boxSize = binary.BigEndian.Uint64(large)
			headerLen = 16
		}
		if boxSize < headerLen {
			break // a damaged size; the decoder will say so
		}
		if string(typ) == "moov" {
			moov = true
		}
		if boxSize > uint64(left) {
			return incomplete(formatISOBMFF, "the %q box at byte %d needs %d bytes but only %d are there: the file is truncated or still being copied", typ, off, boxSize, left), nil
		}
		off += int64(boxSize)
	}
	if !moov {
		return incomplete(formatISOBMFF, "no moov atom yet: the file is still being written, or its writer stopped before writing the index"), nil
	}
	return Completeness{Complete: true, Format: formatISOBMFF}, nil
}

func printableFourCC(b []byte) bool {
	for _, c := range b {
		// 0xa9 is the © that QuickTime uses in some box names.
		if (c < 0x20 || c > 0x7e) && c != 0xa9 {
			return false
		}
	}
	return true
}
