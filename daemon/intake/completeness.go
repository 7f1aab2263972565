package intake

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Completeness is the verdict of CheckComplete.
type Completeness struct {
	Complete bool
	// Format is the container recognised by its content: "MP4/MOV", "MXF",
	// "MPEG-TS", "M2TS", or "" when none of those (the decoder will judge).
	Format string
	// Reason says, for a person, why the file is not complete yet; it is
	// empty when Complete is true.
	Reason string
}

// NoEndMarker reports whether a container format has nothing that marks the
// end of a file, so that a file written in bursts of whole packets looks
// complete between bursts: MPEG-TS and M2TS.
func NoEndMarker(format string) bool {
	return format == "MPEG-TS" || format == "M2TS"
}

func (c Completeness) String() string {
	if c.Complete {
		return "complete " + c.Format
	}
	return c.Reason
}

// headSize is how much of the start of a file is read to recognise it: an
// MXF file may carry a run-in of up to 64 KiB before its header partition.
const headSize = 64<<10 + 16

// CheckComplete reports whether the file at path is structurally whole. The
// container is recognised by its first bytes, never by its extension:
//   - MP4/MOV (ISO BMFF): complete when the top-level boxes end exactly at the
//     end of the file and one of them is the moov.
//   - MXF: complete when the footer partition is there, in full.
//   - MPEG-TS (188-byte packets, 204 with Reed-Solomon bytes) and M2TS
//     (192-byte): complete when the file ends on a packet boundary and the
//     last packet starts with a sync byte.
//
// Anything else (Matroska, MPEG-PS, elementary streams) is reported complete:
// nothing in those formats marks an end, and the decoder will judge them.
//
// An empty file is reported incomplete: copy tools and network shares create
// the file before its first byte arrives, and a writer on another machine
// holds no file descriptor here that OpenForWriting could see. Taking it in
// would send a file that is still arriving to failed/.
//
// The error is only for a file that cannot be read.
func CheckComplete(path string) (Completeness, error) {
	f, err := os.Open(path)
	if err != nil {
		return Completeness{}, fmt.Errorf("checking completeness: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return Completeness{}, fmt.Errorf("checking completeness: %w", err)
	}
	if !info.Mode().IsRegular() {
		return Completeness{}, fmt.Errorf("checking completeness of %s: not a regular file", path)
	}
	c, err := checkReader(f, info.Size())
	if err != nil {
		return Completeness{}, fmt.Errorf("checking completeness of %s: %w", path, err)
	}
	return c, nil
}

func checkReader(r io.ReaderAt, size int64) (Completeness, error) {
	if size == 0 {
		return Completeness{Reason: "empty file"}, nil
	}
	head, err := readAt(r, 0, min(size, headSize))
	if err != nil {
		return Completeness{}, err
	}
	if isISOBMFF(head) {
		return checkISOBMFF(r, size)
	}
	if runIn, ok := findMXFHeader(head); ok {
		return checkMXF(r, size, runIn)
	}
	if p, ok := detectTS(head, size); ok {
		return checkTS(r, size, p)
	}
	return Completeness{Complete: true}, nil
}

// readAt reads exactly n bytes at off. The file may shrink between Stat and
// the read (rewritten by its producer); that is an error, and the next scan
// will look again.
func readAt(r io.ReaderAt, off, n int64) ([]byte, error) {
	buf := make([]byte, n)
	got, err := r.ReadAt(buf, off)
	if got == len(buf) {
		return buf, nil
	}
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("the file became shorter while being checked (wanted %d bytes at %d)", n, off)
	}
	return nil, err
}

func incomplete(format, reason string, args ...any) Completeness {
	return Completeness{Format: format, Reason: fmt.Sprintf(reason, args...)}
}
