package intake

import (
	"bytes"
	"encoding/binary"
	"io"
)

const formatMXF = "MXF"

// partitionKeyPrefix is the first 13 bytes of every MXF partition pack key
// (SMPTE ST 377-1). Byte 13 says which partition: 0x02 header, 0x03 body,
// 0x04 footer; bytes 14 and 15 say open/closed and complete/incomplete, which
// does not matter here. Byte 7 is the registry version and is ignored when
// comparing, as the standard asks.
var partitionKeyPrefix = []byte{0x06, 0x0e, 0x2b, 0x34, 0x02, 0x05, 0x01, 0x01, 0x0d, 0x01, 0x02, 0x01, 0x01}

const (
	partitionHeader = 0x02
	partitionFooter = 0x04
	// ripKind is byte 13 of the Random Index Pack key, 06 0e 2b 34 02 05 01
	// 01 0d 01 02 01 01 11 01 00.
	ripKind = 0x11
	// mxfTailWindow is how far before the end the footer partition is looked
	// for when neither the Random Index Pack nor the header points at it.
	mxfTailWindow = 8 << 20
)

// isPartitionKey reports whether b starts with the key of a partition pack (or
// the RIP) of the given kind.
func isPartitionKey(b []byte, kind byte) bool {
	if len(b) < 16 || b[13] != kind {
		return false
	}
	for i, v := range partitionKeyPrefix {
		if i != 7 && b[i] != v {
			return false
		}
	}
	return true
}

// findMXFHeader finds the header partition at the start of the file or after
// a run-in, which SMPTE ST 377-1 limits to 64 KiB.
func findMXFHeader(head []byte) (runIn int64, ok bool) {
	for off := 0; off+16 <= len(head); {
		i := bytes.Index(head[off:], partitionKeyPrefix[:4])
		if i < 0 {
			return 0, false
		}
		off += i
		if isPartitionKey(head[off:], partitionHeader) {
			return int64(off), true
		}
		off++
	}
	return 0, false
}

// checkMXF looks for a whole footer partition. The writer adds it last (only
// the Random Index Pack may follow), so its presence means the file is done.
// Partition offsets in MXF count from the header partition, that is after the
// run-in.
func checkMXF(r io.ReaderAt, size, runIn int64) (Completeness, error) {
	footer, found, err := findMXFFooter(r, size, runIn)
	if err != nil {
		return Completeness{}, err
	}
	if !found {
		return incomplete(formatMXF, "MXF footer partition missing: the file is truncated or still being written"), nil
	}
	end, ok, err := partitionEnd(r, size, footer)
	if err != nil {
		return Completeness{}, err
	}
	if !ok || end > size {
		return incomplete(formatMXF, "the MXF footer partition at byte %d is cut short: the file is truncated or still being copied", footer), nil
	}
	return Completeness{Complete: true, Format: formatMXF}, nil
}

// findMXFFooter tries, cheapest and surest first: the Random Index Pack at
// the very end, which lists every partition with the footer last; the
// footer's offset in the header partition pack, which a seekable writer
// fills in at the end (a copy in progress may already carry it, so the
// footer must also be there); and a search of the last few MiB.
func findMXFFooter(r io.ReaderAt, size, runIn int64) (int64, bool, error) {
	check := func(off int64) (bool, error) {
		if off < runIn || off > size-16 {
			return false, nil
		}
		key, err := readAt(r, off, 16)
		if err != nil {
			return false, err
		}
		return isPartitionKey(key, partitionFooter), nil
	}

	if off, ok, err := footerFromRIP(r, size, runIn); err != nil {
		return 0, false, err
	} else if ok {
		if found, err := check(off); err != nil || found {
			return off, found, err
		}
	}

	if off, ok, err := footerFromHeader(r, size, runIn); err != nil {
		return 0, false, err
	} else if ok {
		if found, err := check(off); err != nil || found {
			return off, found, err
		}
	}

	start := max(runIn, size-mxfTailWindow)
	tail, err := readAt(r, start, size-start)
	if err != nil {
		return 0, false, err
	}
	for end := len(tail); end > 0; {
		i := bytes.LastIndex(tail[:end], partitionKeyPrefix[:4])
		if i < 0 {
			break
		}
		if isPartitionKey(tail[i:], partitionFooter) {
			return start + int64(i), true, nil
		}
		end = i
	}
	return 0, false, nil
}

// footerFromRIP reads the Random Index Pack: key, BER length, pairs of
// (BodySID uint32, ByteOffset uint64), and a final uint32 with the length of
// the whole pack. The last pair is the footer.
func footerFromRIP(r io.ReaderAt, size, runIn int64) (int64, bool, error) {
	if size-runIn < 16+1+12+4 {
		return 0, false, nil
	}
	last, err := readAt(r, size-4, 4)
	if err != nil {
		return 0, false, err
	}
	ripLen := int64(binary.BigEndian.Uint32(last))
	if ripLen < 16+1+12+4 || ripLen > size-runIn || ripLen > 1<<24 {
		return 0, false, nil
	}
	rip, err := readAt(r, size-ripLen, ripLen)
	if err != nil {
		return 0, false, err
	}
	if !isPartitionKey(rip, ripKind) {
		return 0, false, nil
	}
	n, lenLen, ok := berLength(rip[16:])
	if !ok || 16+int64(lenLen)+int64(n) != ripLen || n < 12+4 {
		return 0, false, nil
	}
	pairs := rip[16+lenLen : len(rip)-4]
	if len(pairs)%12 != 0 {
		return 0, false, nil
	}
	off := binary.BigEndian.Uint64(pairs[len(pairs)-8:])
	if off > uint64(size) {
		return 0, false, nil
	}
	return runIn + int64(off), true, nil
}

// footerFromHeader reads FooterPartition from the header partition pack:
// after the key and BER length come MajorVersion, MinorVersion (2 bytes
// each), KAGSize (4), ThisPartition, PreviousPartition (8 each), then
// FooterPartition (8). Zero means the writer did not know it.
func footerFromHeader(r io.ReaderAt, size, runIn int64) (int64, bool, error) {
	const maxPack = 16 + 9 + 32
	pack, err := readAt(r, runIn, min(size-runIn, maxPack))
	if err != nil {
		return 0, false, err
	}
	_, lenLen, ok := berLength(pack[16:])
	v := 16 + lenLen
	if !ok || len(pack) < v+32 {
		return 0, false, nil
	}
	off := binary.BigEndian.Uint64(pack[v+24:])
	if off == 0 || off > uint64(size) {
		return 0, false, nil
	}
	return runIn + int64(off), true, nil
}

// partitionEnd returns where the partition whose pack starts at off ends: the
// pack, then HeaderByteCount bytes of header metadata and IndexByteCount bytes
// of index tables (both counts include their fill). ok is false when the pack
// itself is cut short.
func partitionEnd(r io.ReaderAt, size, off int64) (end int64, ok bool, err error) {
	const maxPack = 16 + 9 + 48
	pack, err := readAt(r, off, min(size-off, maxPack))
	if err != nil {
		return 0, false, err
	}
	if len(pack) < 17 {
		return 0, false, nil
	}
	n, lenLen, ok := berLength(pack[16:])
	v := 16 + lenLen
	if !ok || len(pack) < v+48 || n < 48 {
		return 0, false, nil
	}
	headerBytes := binary.BigEndian.Uint64(pack[v+32:])
	indexBytes := binary.BigEndian.Uint64(pack[v+40:])
	total := uint64(off) + uint64(v) + n
	// Saturate instead of overflowing on nonsense counts; a size beyond the
	// file reads as "cut short", which is the honest answer for a partial copy.
	for _, c := range []uint64{headerBytes, indexBytes} {
		if c > uint64(size) {
			return size + 1, true, nil
		}
		total += c
	}
	if total > uint64(size) {
		return size + 1, true, nil
	}
	return int64(total), true, nil
}

// berLength decodes a KLV length in ASN.1 BER: a short form below 0x80, or
// 0x8n followed by n big-endian bytes (MXF uses up to 8).
func berLength(b []byte) (n uint64, lenLen int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if b[0] < 0x80 {
		return uint64(b[0]), 1, true
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 8 || len(b) < 1+k {
		return 0, 0, false
	}
	for _, c := range b[1 : 1+k] {
		n = n<<8 | uint64(c)
	}
	return n, 1 + k, true
}
